"""The plugin host: one factory that adds specs, registers built-ins, applies blocks, loads entry points."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable

import pluggy

from bench_runner_core import hookspecs
from bench_runner_core.api import BadInput
from bench_runner_core.registry import Registry

#: the built-in plugins, loaded by module name; blockable like any other plugin
DEFAULT_PLUGINS: tuple[str, ...] = (
    "bench_runner_core.plugins.local_engine",
    "bench_runner_core.plugins.ray_engine",
    "bench_runner_core.plugins.sinks",
    "bench_runner_core.plugins.progress",
    "bench_runner_core.plugins.replay",
    "bench_runner_core.plugins.llama_cpp",
    "bench_runner_core.plugins.llama_server",
    "bench_runner_core.plugins.openai",
    "bench_runner_core.plugins.ollama",
    "bench_runner_core.plugins.run_commands",
    "bench_runner_core.plugins.plugins_command",
    "bench_runner_core.plugins.models",
)

#: comma-separated plugin names never to load (like ``--disable-plugin``)
DISABLE_ENV = "BENCH_RUNNER_DISABLE_PLUGINS"
#: comma-separated entry-point names: load only these third-party plugins ("" loads none)
LOAD_ENV = "BENCH_RUNNER_LOAD_PLUGINS"
#: comma-separated module names to load as plugins without installing them (plugin development, tests)
MODULES_ENV = "BENCH_RUNNER_PLUGINS"


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
    # historic: a plugin's own hookspecs are added the moment it registers, whenever that is
    pm.hook.bench_runner_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
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


__all__ = ["DEFAULT_PLUGINS", "Registry", "make_plugin_manager", "plugin_versions"]
