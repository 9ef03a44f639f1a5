"""What plugins registered, and the typed registrars the registration hooks hand them.

Each ``bench_runner_register_*`` hook receives one registrar, called like a
function. Its signature is the contract: a misspelled keyword fails at
registration with a one-line error naming the plugin, instead of being kept
and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from bench_runner_core.api import (
    BackendFactory,
    BadInput,
    BenchmarkFactory,
    EngineFactory,
    Option,
    SinkFactory,
)
from bench_runner_core.records import RunConfig

if TYPE_CHECKING:
    import click
    import pluggy


@attrs.frozen(kw_only=True)
class Registration:
    """One thing a plugin registered: a benchmark, backend, sink, engine or command."""

    kind: str
    name: str
    plugin: str
    factory: Callable[..., Any]
    description: str = ""
    #: other names that select it (``human_eval`` for ``humaneval``)
    aliases: tuple[str, ...] = ()
    #: backends: claims a run when no ``--backend`` is given
    handles: Callable[[RunConfig], bool] | None = None
    #: backends: runs what no other backend claims
    fallback: bool = False
    #: sinks: used unless ``--sink`` names others
    default: bool = True


class _Registrar:
    kind = ""

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    def _add(self, name: str, factory: Callable[..., Any], **fields: Any) -> None:
        self._registry.add(Registration(kind=self.kind, name=name, plugin=self.plugin, factory=factory, **fields))


class BenchmarkRegistrar(_Registrar):
    """``register(name, factory, *, description="", aliases=())``; ``factory(config) -> Benchmark``."""

    kind = "benchmark"

    def __call__(
        self, name: str, factory: BenchmarkFactory, *, description: str = "", aliases: Sequence[str] = ()
    ) -> None:
        self._add(name, factory, description=description, aliases=tuple(aliases))


class BackendRegistrar(_Registrar):
    """``register(name, factory, *, description="", handles=None, fallback=False)``.

    ``factory(config, benchmark) -> Backend``. ``handles(config) -> bool`` claims runs
    that name no ``--backend``; the ``fallback`` backend runs what none claims.
    """

    kind = "backend"

    def __call__(
        self,
        name: str,
        factory: BackendFactory,
        *,
        description: str = "",
        handles: Callable[[RunConfig], bool] | None = None,
        fallback: bool = False,
    ) -> None:
        self._add(name, factory, description=description, handles=handles, fallback=fallback)


class SinkRegistrar(_Registrar):
    """``register(name, factory, *, description="", default=True)``; ``factory(config) -> Sink``."""

    kind = "sink"

    def __call__(self, name: str, factory: SinkFactory, *, description: str = "", default: bool = True) -> None:
        self._add(name, factory, description=description, default=default)


class EngineRegistrar(_Registrar):
    """``register(name, factory, *, description="")``; ``factory(config) -> Engine``."""

    kind = "engine"

    def __call__(self, name: str, factory: EngineFactory, *, description: str = "") -> None:
        self._add(name, factory, description=description)


class CommandRegistrar(_Registrar):
    """``register(command)``: a ``click.Command`` (or ``click.Group``) named by ``command.name``."""

    kind = "command"

    def __call__(self, command: click.Command) -> None:
        if not command.name:
            raise TypeError("a command needs a name")
        self._add(command.name, lambda: command, description=(command.help or "").strip().split("\n")[0])


class OptionRegistrar(_Registrar):
    """``register(option)``: an ``Option`` added to the run form of ``bench_runner``."""

    kind = "option"

    def __call__(self, option: Option) -> None:
        if not isinstance(option, Option):
            raise TypeError(f"register() takes an Option, not {type(option).__name__}")
        self._registry.add_option(option, self.plugin)


#: registration hook -> the registrar its implementations receive
REGISTRARS: dict[str, type[_Registrar]] = {
    "bench_runner_register_benchmarks": BenchmarkRegistrar,
    "bench_runner_register_backends": BackendRegistrar,
    "bench_runner_register_sinks": SinkRegistrar,
    "bench_runner_register_engines": EngineRegistrar,
    "bench_runner_register_commands": CommandRegistrar,
    "bench_runner_register_options": OptionRegistrar,
}


class Registry:
    """What every plugin registered, by kind and name. Built once per process."""

    KINDS = ("benchmark", "backend", "sink", "engine", "command")

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.items: dict[str, dict[str, Registration]] = {kind: {} for kind in self.KINDS}
        self.aliases: dict[str, dict[str, str]] = {kind: {} for kind in self.KINDS}
        self.options: dict[str, tuple[Option, str]] = {}
        for hook, registrar in REGISTRARS.items():
            for impl in getattr(pm.hook, hook).get_hookimpls():
                plugin = self.plugin_name(impl.plugin)
                try:
                    impl.function(register=registrar(self, plugin))
                except TypeError as exc:  # a misspelled keyword or a wrong argument
                    raise BadInput(
                        f"plugin {plugin} registers wrongly in {hook} ({exc})",
                        f"fix the plugin's register() call, or skip it with --disable-plugin {plugin}",
                    ) from None

    def plugin_name(self, plugin: object) -> str:
        return self.pm.get_name(plugin) or getattr(plugin, "__name__", repr(plugin))

    def add(self, reg: Registration) -> None:
        names = self.items[reg.kind].keys() | self.aliases[reg.kind].keys()
        for name in (reg.name, *reg.aliases):
            if name in names:
                taken = self.get(reg.kind, name)
                raise BadInput(
                    f"{reg.kind} {name!r} is registered by both {taken.plugin} and {reg.plugin}",
                    f"uninstall one, or disable it with --disable-plugin {reg.plugin}",
                )
        self.items[reg.kind][reg.name] = reg
        self.aliases[reg.kind].update(dict.fromkeys(reg.aliases, reg.name))

    def add_option(self, option: Option, plugin: str) -> None:
        seen = self.options.get(option.name)
        if seen is None:
            self.options[option.name] = (option, plugin)
        elif (seen[0].type, seen[0].multiple, seen[0].choices) != (option.type, option.multiple, option.choices):
            raise BadInput(
                f"option {option.flag} is declared differently by {seen[1]} and {plugin}",
                f"disable one of them with --disable-plugin {plugin}",
            )

    def get(self, kind: str, name: str) -> Registration:
        """The registration called ``name`` (or one of its aliases); ``BadInput`` listing the known ones."""
        found = self.items[kind].get(self.aliases[kind].get(name, name))
        if found is None:
            known = ", ".join(sorted(self.items[kind])) or "none installed"
            raise BadInput(f"unknown {kind} {name!r} (known: {known})", "pick one of them or install its plugin")
        return found

    def by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> what it registered (``kind:name``, aliases, ``option:--flag``)."""
        owned: dict[str, list[str]] = {self.plugin_name(p): [] for p in self.pm.get_plugins()}
        for kind in self.KINDS:
            for reg in self.items[kind].values():
                alias = f" (alias {', '.join(reg.aliases)})" if reg.aliases else ""
                owned.setdefault(reg.plugin, []).append(f"{kind}:{reg.name}{alias}")
        for option, plugin in self.options.values():
            owned.setdefault(plugin, []).append(f"option:{option.flag}")
        return owned


__all__ = [
    "BackendRegistrar",
    "BenchmarkRegistrar",
    "CommandRegistrar",
    "EngineRegistrar",
    "OptionRegistrar",
    "Registration",
    "Registry",
    "SinkRegistrar",
]
