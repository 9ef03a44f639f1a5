"""``optimize --engine ray`` on a loopback Ray head: the same results as ``--engine local``, and a killed
driver resumes to them. One head serves the module (starting Ray takes seconds)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.json_server import serve_in_threads
from tests.fixtures.kernel import BIN
from tests.fixtures.ray_head import RAY_ENV, ray_head
from tests.plugins.optimizers.conftest import gsm8k_answers, humaneval_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer
from tests.plugins.optimizers.test_cli import env

pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.slow

#: two tasks, a text dataset and a code dataset (graded by the cluster's sandbox actors), two at once
DATASETS = ["gsm8k", "humaneval"]


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ray_head(env(tmp_path_factory.mktemp("ray"))) as found:
        yield found


def optimize(server: ScriptedServer, folder: Path, *extra: str) -> list[str]:
    return [
        str(BIN), "optimize", "--datasets", *DATASETS, "--optimizers", "meta_prompt",
        "--models", "openai/task", "--proposer-model", "openai/proposer",
        "--model-option", f"base_url={server.url}", "max_tokens=64",
        "--test-mode", "--seed", "3", "--max-concurrent", "2", "--parallel", "2",
        "--max-trials", "4", "--max-rollouts", "40", "--max-proposer-tokens", "3000",
        "--results-dir", str(folder / "results"), "--history", str(folder / "history.json"), "--json",
        *extra,
    ]  # fmt: skip


def run(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(args, cwd=folder, env={**env(folder), **RAY_ENV}, capture_output=True, text=True, timeout=300)


def tasks(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (folder / "results").glob("opt_*/tasks/*.json")}


def outcome(task: dict) -> tuple:
    """What must not depend on the engine: the final prompt, the test scores, the budget used."""
    return task["best"], task["test_scores"], task["rollouts"], task["trials"], task["proposer_tokens"]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], int]:
    """The same run with the local engine: its tasks, and how many requests it sent."""
    servers = serve_in_threads(ScriptedServer)
    server = next(servers)(gsm8k_answers() + humaneval_answers())
    folder = tmp_path_factory.mktemp("local")
    done = run(optimize(server, folder), folder)
    next(servers, None)  # stops the server
    assert done.returncode == 0, done.stderr[-3000:]
    return tasks(folder), len(server.requests)


def test_ray_gives_the_local_results(
    address: str, local: tuple[dict[str, dict], int], scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(gsm8k_answers() + humaneval_answers())
    done = run(optimize(server, tmp_path, "--engine", "ray", "--ray-address", address), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["complete"] and summary["engine"] == "ray"
    found, expected = tasks(tmp_path), local[0]
    assert set(found) == set(expected) and len(found) == 2
    for task_id, task in found.items():
        assert outcome(task) == outcome(expected[task_id]), task_id
        assert task["backend"]["ray_generators"] == 1, "the task model generated in a Ray actor"
    (code,) = [t for t in found.values() if t["task"]["dataset"] == "humaneval"]
    assert code["sandbox"]["nodes"], "the code was graded by the cluster's sandbox actors"
    conn = sqlite3.connect(tmp_path / "results" / "results.sqlite")
    assert conn.execute("SELECT engine, done FROM optimization_runs").fetchall() == [("ray", 2)]


def test_a_killed_ray_driver_resumes_to_the_same_results(
    address: str, local: tuple[dict[str, dict], int], scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    expected, requests = local
    server = scripted(gsm8k_answers() + humaneval_answers(), delay=0.03)
    args = optimize(server, tmp_path, "--engine", "ray", "--ray-address", address)
    driver = subprocess.Popen(
        args, cwd=tmp_path, env={**env(tmp_path), **RAY_ENV}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while len(server.requests) < requests // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    assert 0 < len(server.requests) < requests
    (run_dir,) = [p for p in (tmp_path / "results").glob("opt_*") if p.is_dir()]
    statuses = json.loads((run_dir / "checkpoint.json").read_text())["tasks"].values()
    assert any(s["status"] == "running" for s in statuses)

    resume = [str(BIN), "optimize", "--resume", run_dir.name, "--results-dir", str(tmp_path / "results")]
    resumed = run([*resume, "--engine", "ray", "--ray-address", address, "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["complete"]
    found = tasks(tmp_path)
    assert {k: outcome(v) for k, v in found.items()} == {k: outcome(v) for k, v in expected.items()}
    # nothing answered before the kill was asked again: at most the calls in flight (2 tasks x 2 calls)
    assert requests <= len(server.requests) <= requests + 4


def test_an_in_process_gguf_loads_in_a_ray_actor_with_the_local_results(
    address: str, tiny_gguf: Path, tmp_path: Path
) -> None:
    args = [
        str(BIN), "optimize", "--datasets", "gsm8k", "--optimizers", "few_shot", "--models", str(tiny_gguf),
        "--model-option", "max_tokens=8", "gpu_layers=0", "--test-mode", "--seed", "1", "--max-rollouts", "20",
        "--max-trials", "3", "--json",
    ]  # fmt: skip
    found = {}
    for engine in ("local", "ray"):
        folder = tmp_path / engine
        done = run([*args, "--engine", engine, "--ray-address", address, "--results-dir", "results"], folder)
        assert done.returncode == 0, done.stderr[-3000:]
        (found[engine],) = tasks(folder).values()
    assert outcome(found["ray"]) == outcome(found["local"])
    assert found["ray"]["backend"]["ray_generators"] == 1 and "ray_generators" not in found["local"]["backend"]
    assert found["ray"]["rollouts"] > 0
