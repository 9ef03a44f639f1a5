from __future__ import annotations

import types

import pytest

from bench_runner_core.api import BadInput, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.manager import DEFAULT_PLUGINS, Registry, make_plugin_manager


def plugin(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module


def registry_with(*plugins: object, builtins: tuple[str, ...] = ()) -> Registry:
    return Registry(make_plugin_manager(builtins=builtins, extra_plugins=plugins, load_entry_points=False))


def test_builtins_register_through_the_same_hooks() -> None:
    registry = registry_with(builtins=DEFAULT_PLUGINS)
    assert {"local"} <= set(registry.items["engine"])
    assert {"checkpoint", "summary", "history"} <= set(registry.items["sink"])
    assert {"replay", "llama_cpp", "llama_server", "openai", "ollama"} <= set(registry.items["backend"])
    assert registry.items["backend"]["replay"].plugin == "replay"


def test_a_misspelled_hook_is_caught() -> None:
    bad = plugin("bad", bench_runner_register_benchmark=lambda register: None)
    with pytest.raises(BadInput, match="unknown hook"):
        registry_with(bad)


def test_disabled_builtins_do_not_load() -> None:
    registry = Registry(make_plugin_manager(builtins=DEFAULT_PLUGINS, disabled=["replay"], load_entry_points=False))
    assert "replay" not in registry.items["backend"]


def test_disable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_RUNNER_DISABLE_PLUGINS", "sinks, progress, results")
    registry = Registry(make_plugin_manager(builtins=DEFAULT_PLUGINS, load_entry_points=False))
    assert not registry.items["sink"]


def test_duplicate_names_are_refused_with_both_owners() -> None:
    def register_x(register):  # type: ignore[no-untyped-def]
        register("x", object)

    with pytest.raises(BadInput, match="registered by both one and two"):
        registry_with(
            plugin("one", bench_runner_register_benchmarks=register_x),
            plugin("two", bench_runner_register_benchmarks=register_x),
        )


def test_options_may_be_shared_only_when_declared_alike() -> None:
    def same(register):  # type: ignore[no-untyped-def]
        register(Option(name="problems_file", type="path", help="h"))

    def different(register):  # type: ignore[no-untyped-def]
        register(Option(name="problems_file", type="int", help="h"))

    ok = registry_with(plugin("a", bench_runner_register_options=same), plugin("b", bench_runner_register_options=same))
    assert "problems_file" in ok.options
    with pytest.raises(BadInput, match="declared differently"):
        registry_with(
            plugin("a", bench_runner_register_options=same), plugin("c", bench_runner_register_options=different)
        )


def test_unknown_names_list_the_known_ones() -> None:
    registry = registry_with(builtins=DEFAULT_PLUGINS)
    with pytest.raises(BadInput, match=r"unknown backend 'nope' \(known: .*replay"):
        registry.get("backend", "nope")


def test_plugin_modules_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_RUNNER_PLUGINS", "tests.fixtures.echo_plugin")
    registry = Registry(make_plugin_manager(builtins=(), load_entry_points=False))
    assert "echo" in registry.items["benchmark"] and "scripted" in registry.items["backend"]
    monkeypatch.setenv("BENCH_RUNNER_PLUGINS", "no_such_module_here")
    with pytest.raises(BadInput, match="plugin no_such_module_here failed to load"):
        make_plugin_manager(builtins=(), load_entry_points=False)
