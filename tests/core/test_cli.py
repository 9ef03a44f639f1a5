from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from bench_runner_core.cli import build_cli
from bench_runner_core.manager import DEFAULT_PLUGINS, Registry, make_plugin_manager
from tests.fixtures import echo_plugin


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    pm = make_plugin_manager(builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin], load_entry_points=False)
    return build_cli(Registry(pm))


def test_help_lists_plugin_options_in_their_own_sections(cli) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "--benchmark" in result.output
    assert "Options from plugins: echo" in result.output and "--echo-size" in result.output
    assert "--gpu-layers" in result.output


def test_plugins_lists_builtins_and_what_they_registered(cli) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "backend:replay" in result.output
    assert "benchmark:echo" in result.output
    assert "sink:checkpoint" in result.output


def test_help_imports_no_model_library() -> None:
    code = (
        "import sys; import bench_runner\n"
        "try:\n    bench_runner.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('llama_cpp', 'numpy', 'requests', 'httpx', 'ray')]\n"
        "print('IMPORTED', bad, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED []" in result.stderr
    assert "Usage: bench_runner" in result.stdout


def test_a_checkout_runs_without_an_install(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``./bench_runner.py`` works from a checkout: core/ and parsers/ are found under their installed names."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import importlib.util, runpy, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name.startswith('bench_runner_') else real(name, *a)\n"
        "sys.meta_path.insert(0, type('Hide', (), {'find_spec': staticmethod(\n"
        "    lambda name, path=None, target=None: (_ for _ in ()).throw(ImportError(name))\n"
        "    if name in ('bench_runner_core', 'bench_runner_parsers') and name not in sys.modules else None)}))\n"
        f"sys.argv = ['bench_runner.py', 'plugins']\n"
        f"runpy.run_path({str(root / 'bench_runner.py')!r}, run_name='__main__')\n"
        "print('CORE', sys.modules['bench_runner_core'].__file__, file=sys.stderr)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "BENCH_RUNNER_LOAD_PLUGINS": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "backend:replay" in result.stdout
    assert f"CORE {root / 'core' / '__init__.py'}" in result.stderr
