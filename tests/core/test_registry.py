"""Typed registrars, commands and hookspecs from plugins, aliases."""

from __future__ import annotations

import subprocess
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench_runner_core.api import BadInput, Option
from bench_runner_core.cli import build_cli
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.manager import make_plugin_manager
from bench_runner_core.registry import Registry
from tests.fixtures import command_plugin
from tests.fixtures.kernel import BIN, cli_env


def plugin(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module


def registry_with(*plugins: object) -> Registry:
    return Registry(make_plugin_manager(builtins=(), extra_plugins=plugins, load_entry_points=False))


def test_a_misspelled_keyword_is_a_one_line_error_naming_the_plugin() -> None:
    def typo(register):  # type: ignore[no-untyped-def]
        register("x", object, falback=True)

    with pytest.raises(BadInput) as caught:
        registry_with(plugin("sloppy", bench_runner_register_backends=typo))
    message = str(caught.value)
    assert "plugin sloppy" in message and "falback" in message and "\n" not in message


def test_registrations_are_typed_records() -> None:
    def backends(register):  # type: ignore[no-untyped-def]
        register("b", object, description="d", handles=lambda config: True, fallback=True)

    def sinks(register):  # type: ignore[no-untyped-def]
        register("s", object, default=False)

    registry = registry_with(plugin("p", bench_runner_register_backends=backends, bench_runner_register_sinks=sinks))
    backend = registry.get("backend", "b")
    assert backend.fallback and backend.handles is not None and backend.plugin == "p"
    assert registry.get("sink", "s").default is False


def test_an_option_registrar_takes_only_options() -> None:
    def wrong(register):  # type: ignore[no-untyped-def]
        register("not_an_option")

    with pytest.raises(BadInput, match="plugin opt registers wrongly"):
        registry_with(plugin("opt", bench_runner_register_options=wrong))
    ok = registry_with(
        plugin("opt", bench_runner_register_options=lambda register: register(Option(name="x", help="h")))
    )
    assert "x" in ok.options


def test_aliases_select_the_same_registration_and_cannot_collide() -> None:
    def one(register):  # type: ignore[no-untyped-def]
        register("humaneval", object, aliases=("human_eval",))

    def two(register):  # type: ignore[no-untyped-def]
        register("human_eval", object)

    registry = registry_with(plugin("one", bench_runner_register_benchmarks=one))
    assert registry.get("benchmark", "human_eval").name == "humaneval"
    assert "benchmark:humaneval (alias human_eval)" in registry.by_plugin()["one"]
    with pytest.raises(BadInput, match="registered by both one and two"):
        registry_with(
            plugin("one", bench_runner_register_benchmarks=one), plugin("two", bench_runner_register_benchmarks=two)
        )


def test_a_plugin_adds_a_command_and_a_hook_another_plugin_implements() -> None:
    # the implementing plugin registers first: its impl is checked once the spec arrives
    pm = make_plugin_manager(
        builtins=(), extra_plugins=[command_plugin.Polite(), command_plugin], load_entry_points=False
    )
    result = CliRunner().invoke(build_cli(Registry(pm)), ["greet", "ada"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["good day ada", "hello ada"]
    assert "greet" in CliRunner().invoke(build_cli(Registry(pm)), ["--help"]).output


def test_a_plugin_command_runs_from_the_installed_cli(tmp_path: Path) -> None:
    env = cli_env(tmp_path, plugins="command_plugin")
    done = subprocess.run([str(BIN), "greet", "bob"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello bob"
    missing = subprocess.run(
        [str(BIN), "greet", "bob"], env=cli_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "greet" in missing.stderr
