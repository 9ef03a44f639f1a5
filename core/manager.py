"""The plugin host: one factory that adds specs, registers built-ins, applies blocks, loads entry points."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy

from bench_runner_core import hookspecs
from bench_runner_core.api import BadInput, Option

#: the built-in plugins, loaded by module name; blockable like any other plugin
DEFAULT_PLUGINS: tuple[str, ...] = (
    "bench_runner_core.plugins.local_engine",
    "bench_runner_core.plugins.sinks",
    "bench_runner_core.plugins.results",
    "bench_runner_core.plugins.progress",
    "bench_runner_core.plugins.replay",
    "bench_runner_core.plugins.llama_cpp",
    "bench_runner_core.plugins.llama_server",
    "bench_runner_core.plugins.openai",
    "bench_runner_core.plugins.ollama",
)

#: comma-separated plugin names never to load (like ``--disable-plugin``)
DISABLE_ENV = "BENCH_RUNNER_DISABLE_PLUGINS"
#: comma-separated entry-point names: load only these third-party plugins ("" loads none)
LOAD_ENV = "BENCH_RUNNER_LOAD_PLUGINS"
#: comma-separated module names to load as plugins without installing them (plugin development, tests)
MODULES_ENV = "BENCH_RUNNER_PLUGINS"


@attrs.frozen(kw_only=True)
class Registration:
    """One thing a plugin registered: a benchmark, backend, sink or engine."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict)


class Registry:
    """What every plugin registered, by kind and name. Built once per process."""

    KINDS = ("benchmark", "backend", "sink", "engine")

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.items: dict[str, dict[str, Registration]] = {kind: {} for kind in self.KINDS}
        self.options: dict[str, tuple[Option, str]] = {}
        self._collect()

    def _collect(self) -> None:
        hooks = {
            "benchmark": "bench_runner_register_benchmarks",
            "backend": "bench_runner_register_backends",
            "sink": "bench_runner_register_sinks",
            "engine": "bench_runner_register_engines",
        }
        for kind, hook in hooks.items():
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                impl.function(register=self._registrar(kind, self.plugin_name(impl.plugin)))
        for impl in self.pm.hook.bench_runner_register_options.get_hookimpls():
            owner = self.plugin_name(impl.plugin)
            impl.function(register=lambda option, _owner=owner: self._add_option(option, _owner))

    def plugin_name(self, plugin: object) -> str:
        return self.pm.get_name(plugin) or getattr(plugin, "__name__", repr(plugin))

    def _registrar(self, kind: str, plugin: str) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], description: str = "", **extra: Any) -> None:
            taken = self.items[kind].get(name)
            if taken is not None:
                raise BadInput(
                    f"{kind} {name!r} is registered by both {taken.plugin} and {plugin}",
                    f"uninstall one, or disable it with --disable-plugin {plugin}",
                )
            self.items[kind][name] = Registration(
                kind=kind, name=name, factory=factory, plugin=plugin, description=description, extra=extra
            )

        return register

    def _add_option(self, option: Option, plugin: str) -> None:
        seen = self.options.get(option.name)
        if seen is None:
            self.options[option.name] = (option, plugin)
        elif (seen[0].type, seen[0].multiple, seen[0].choices) != (option.type, option.multiple, option.choices):
            raise BadInput(
                f"option {option.flag} is declared differently by {seen[1]} and {plugin}",
                f"disable one of them with --disable-plugin {plugin}",
            )

    def get(self, kind: str, name: str) -> Registration:
        found = self.items[kind].get(name)
        if found is None:
            known = ", ".join(sorted(self.items[kind])) or "none installed"
            raise BadInput(f"unknown {kind} {name!r} (known: {known})", "pick one of them or install its plugin")
        return found

    def by_plugin(self) -> dict[str, list[str]]:
        """Plugin name -> what it registered (``kind:name`` and ``option:--flag``)."""
        owned: dict[str, list[str]] = {}
        for plugin in self.pm.get_plugins():
            owned[self.plugin_name(plugin)] = []
        for kind in self.KINDS:
            for reg in self.items[kind].values():
                owned.setdefault(reg.plugin, []).append(f"{kind}:{reg.name}")
        for option, plugin in self.options.values():
            owned.setdefault(plugin, []).append(f"option:{option.flag}")
        return owned


def _split(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def make_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    builtins: Iterable[str] = DEFAULT_PLUGINS,
    extra_plugins: Iterable[object] = (),
    load_entry_points: bool = True,
) -> pluggy.PluginManager:
    """The one factory: specs, built-ins, blocks, entry points, then ``check_pending()``.

    ``disabled`` names plugins (built-in module names, their last dotted part,
    or entry-point names) that must not load; the ``BENCH_RUNNER_DISABLE_PLUGINS``
    environment variable adds to it. ``BENCH_RUNNER_LOAD_PLUGINS``, when set,
    limits which entry points load.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(disabled) | _split(os.environ.get(DISABLE_ENV))
    for name in blocked:
        pm.set_blocked(name)
    for module_name in builtins:
        short = module_name.rsplit(".", 1)[-1]
        if module_name in blocked or short in blocked:
            continue
        pm.register(_import(module_name, short), name=short)
    for plugin in extra_plugins:
        pm.register(plugin)
    for module_name in _split(os.environ.get(MODULES_ENV)):
        if module_name not in blocked:
            pm.register(_import(module_name, module_name), name=module_name)
    if load_entry_points:
        _load_entry_points(pm, os.environ.get(LOAD_ENV))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise BadInput(
            f"a plugin implements an unknown hook: {exc}", "fix the plugin's hook name or disable it"
        ) from None
    return pm


def _import(module_name: str, plugin: str) -> object:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # a broken plugin must not take the CLI down with a traceback
        raise BadInput(
            f"plugin {plugin} failed to load ({type(exc).__name__}: {exc})",
            f"reinstall it, or skip it with --disable-plugin {plugin}",
        ) from None


def _load_entry_points(pm: pluggy.PluginManager, only: str | None) -> None:
    from importlib.metadata import entry_points

    wanted = None if only is None else _split(only)
    for ep in entry_points(group=hookspecs.PROJECT):
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name) or (wanted is not None and ep.name not in wanted):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise BadInput(
                f"plugin {ep.name} failed to load ({type(exc).__name__}: {exc})",
                f"reinstall it, or skip it with --disable-plugin {ep.name}",
            ) from None
        pm.register(plugin, name=ep.name)
        if ep.dist is not None:
            _DISTS[ep.name] = f"{ep.dist.name} {ep.dist.version}"


_DISTS: dict[str, str] = {}


def plugin_versions(pm: pluggy.PluginManager) -> dict[str, str]:
    """Plugin name -> distribution version (the kernel's version for built-ins)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        kernel = version("bench-runner")
    except PackageNotFoundError:
        kernel = "checkout"
    builtin = {m.rsplit(".", 1)[-1] for m in DEFAULT_PLUGINS}
    versions = {name: kernel for name, _ in pm.list_name_plugin() if name in builtin}
    versions.update({name: dist for name, dist in _DISTS.items() if pm.has_plugin(name)})
    return versions
