"""llama_server without llama-cpp-python's server extra: one line naming the extra, before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.plugins.llama import llama_server
from bench_runner_core.records import RunConfig
from tests.fixtures.kernel import assert_one_line_error, cli_env


def _hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # a None entry in sys.modules makes find_spec answer None and the import fail, as if not installed
    monkeypatch.setitem(sys.modules, name, None)


def test_factory_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "uvicorn")
    config = RunConfig(benchmark="b", backend="llama_server", model="m.gguf")
    with pytest.raises(BadInput) as caught:
        llama_server._factory(config, None)
    assert "uvicorn" in caught.value.problem
    assert "pip install 'bench-runner[server]'" in caught.value.fix


def test_a_server_binary_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "fastapi")
    config = RunConfig(benchmark="b", backend="llama_server", model="m.gguf", options={"server_bin": "llama-server"})
    assert isinstance(llama_server._factory(config, None), llama_server.LlamaServerBackend)


def test_cli_stops_before_the_run_starts(cli_in_process, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _hide(monkeypatch, "sse_starlette")
    result = cli_in_process("--benchmark", "echo", "--backend", "llama_server")
    assert_one_line_error(result, "sse_starlette", "pip install 'bench-runner[server]'")
    assert not list((tmp_path / "benchmark_results").glob("bench_*"))


def test_installed_command_without_the_extra(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['uvicorn'] = None\n")
    env = cli_env(tmp_path)
    env["PYTHONPATH"] = f"{hide}:{env['PYTHONPATH']}"
    result = bench("--benchmark", "echo", "--backend", "llama_server", env=env)
    assert_one_line_error(result, "uvicorn", "pip install 'bench-runner[server]'")
    assert not list((tmp_path / "benchmark_results").glob("bench_*"))
