"""The ray engine on a local Ray instance: same results as the local engine, and faults lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import DEFAULT_PLUGINS, make_plugin_manager
from bench_runner_core.registry import Registry
from tests.fixtures import echo_plugin
from tests.fixtures.kernel import BIN, FIXTURES, cli_env
from tests.fixtures.ray_head import RAY_ENV, ray_head

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray instance for the in-process tests (the engine joins it and leaves it running).

    The echo plugin's checker is imported by name in sandbox workers, here and in Ray's actors.
    """
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURES), saved]))
    temp = tempfile.mkdtemp(prefix="br-ray-", dir="/tmp")  # Ray's socket paths must stay short
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]}
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _temp_dir=temp,
        runtime_env={"env_vars": env},
    )
    yield
    ray.shutdown()
    if saved is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = saved


def kernel() -> Kernel:
    pm = make_plugin_manager(builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin], load_entry_points=False)
    return Kernel(registry=Registry(pm))


def settings(tmp_path: Path, engine: str, **extra: Any) -> dict[str, Any]:
    return {
        "benchmark": "echo",
        "backend": "scripted",
        "engine": engine,
        "results_dir": str(tmp_path / f"results-{engine}"),
        "history": str(tmp_path / "history.json"),
        "workers": 2,
        **extra,
    }


def texts_in(checkpoint: Path) -> list[str]:
    return sorted(json.loads(line)["attempts"][0]["completion"]["text"] for line in checkpoint.read_text().splitlines())


def verdicts(summary: Any) -> dict[str, Any]:
    return {r.problem_id: (r.n, r.passed, dict(r.statuses)) for r in summary.results}


def test_ray_gives_the_same_verdicts_and_summary_as_local(tmp_path: Path, ray_session: None) -> None:
    k = kernel()
    local = k.new_run(k.config(settings(tmp_path, "local", n_samples=2))).execute()
    remote = k.new_run(k.config(settings(tmp_path, "ray", n_samples=2))).execute()
    assert remote.complete and verdicts(remote) == verdicts(local)
    assert remote.summary.pass_at_k == local.summary.pass_at_k == {"pass@1": 0.5}
    sandbox = remote.metadata["sandbox"]
    assert sandbox["nodes"] and all(p.get("network_namespace") for p in sandbox["nodes"].values())
    assert remote.metadata["backend"]["ray_generators"] == 1


def test_the_tiny_gguf_generates_in_a_ray_actor(tmp_path: Path, ray_session: None, tiny_gguf: Path) -> None:
    k = kernel()
    common = {"backend": "llama_cpp", "model": str(tiny_gguf), "max_tokens": 8, "echo_size": 3, "gpu_layers": 0}
    local = k.new_run(k.config(settings(tmp_path, "local", **common))).execute()
    remote = k.new_run(k.config(settings(tmp_path, "ray", **common))).execute()
    assert remote.complete and verdicts(remote) == verdicts(local)
    store = Path(settings(tmp_path, "ray")["results_dir"]) / remote.run_id / "samples.jsonl"
    texts = [json.loads(line)["attempts"][0]["completion"]["text"] for line in store.read_text().splitlines()]
    local_store = Path(settings(tmp_path, "local")["results_dir"]) / local.run_id / "samples.jsonl"
    local_texts = [
        json.loads(line)["attempts"][0]["completion"]["text"] for line in local_store.read_text().splitlines()
    ]
    assert sorted(texts) == sorted(local_texts), "greedy generation in the actor equals generation here"


def test_killed_actors_lose_no_sample_and_count_none_twice(tmp_path: Path, ray_session: None) -> None:
    k = kernel()
    run = k.new_run(k.config(settings(tmp_path, "ray", echo_size=8, n_samples=2, delay=0.15)))
    run.plan()
    run.start()
    killed: list[str] = []

    def kill_workers() -> None:
        while len(run.samples) < 3:
            time.sleep(0.05)
        for name, actors in (("generator", run.backend.actors), ("grader", run.sandbox.actors)):  # type: ignore[union-attr]
            os.kill(ray.get(actors[0].pid.remote()), signal.SIGKILL)
            killed.append(name)

    killer = threading.Thread(target=kill_workers, daemon=True)
    killer.start()
    try:
        failure = run.drive()
    finally:
        run.close()
    summary = run.finish(failure)
    killer.join(timeout=5)
    assert killed == ["generator", "grader"]
    assert summary.complete and summary.summary.total_samples == 16
    lines = (Path(run.config.results_dir) / run.run_id / "samples.jsonl").read_text().splitlines()
    keys = [(json.loads(line)["problem_id"], json.loads(line)["sample_index"]) for line in lines]
    assert len(keys) == 16 and len(set(keys)) == 16, "every sample checkpointed exactly once"
    assert summary.summary.pass_at_k == {"pass@1": 0.5}, "the restarted actors graded correctly"
    assert summary.summary.statuses == {"passed": 8, "failed": 8}


def test_a_killed_driver_resumes_to_a_complete_run(tmp_path: Path) -> None:
    env = cli_env(tmp_path, **RAY_ENV)
    with ray_head(env) as address:
        args = [str(BIN), "--benchmark", "echo", "--backend", "scripted", "--echo-size", "10", "--delay", "0.3"]
        args += ["--engine", "ray", "--ray-address", address, "--workers", "1"]
        driver = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        results = tmp_path / "benchmark_results"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            checkpoints = list(results.glob("*/samples.jsonl"))
            if checkpoints and len(checkpoints[0].read_text().splitlines()) >= 2:
                break
            time.sleep(0.1)
        driver.kill()
        driver.wait(timeout=30)
        (checkpoint,) = results.glob("*/samples.jsonl")
        run_id = checkpoint.parent.name
        done_before = len(checkpoint.read_text().splitlines())
        assert 2 <= done_before < 10
        resumed = subprocess.run(
            [str(BIN), "--resume", run_id, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stderr
        summary = json.loads(resumed.stdout)
        assert summary["complete"] and summary["summary"]["total_samples"] == 10
        assert summary["config"]["engine"] == "ray"
        lines = checkpoint.read_text().splitlines()
        assert len({(json.loads(x)["problem_id"], json.loads(x)["sample_index"]) for x in lines}) == len(lines) == 10


OUTLIVES_ITS_THREAD = """
import sys, threading
from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import DEFAULT_PLUGINS, make_plugin_manager
from bench_runner_core.plugins.ray_engine import RayEngine
from bench_runner_core.registry import Registry

k = Kernel(registry=Registry(make_plugin_manager(builtins=DEFAULT_PLUGINS, load_entry_points=False)))
config = k.config({"benchmark": "echo", "backend": "scripted", "engine": "ray", "workers": 1})
placed = []
# like a campaign's run: the thread that starts the local instance ends before the instance's last user
starter = threading.Thread(target=lambda: placed.append(RayEngine(config).place_sandbox()))
starter.start()
starter.join()
sandbox = placed[0]
ray = sandbox.ray
# a new task needs the instance's scheduler (the actor made before could still answer without it)
print("answered", ray.get(ray.remote(lambda: 42).remote(), timeout=90), flush=True)
sandbox.close()
print("connected", ray.is_initialized(), flush=True)
"""


def said_by(script: str, tmp_path: Path) -> list[str]:
    """Run ``script`` in a fresh interpreter (a Ray instance of its own); the lines it printed about the outcome."""
    done = subprocess.run(
        [str(Path(BIN).parent / "python"), "-c", script], cwd=tmp_path,
        env=cli_env(tmp_path, **RAY_ENV), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if line.startswith(("answered", "raised", "connected"))]


def test_the_local_instance_outlives_the_thread_that_started_it(tmp_path: Path) -> None:
    # Ray kills a local instance's processes when the thread that started them ends (PR_SET_PDEATHSIG)
    said = said_by(OUTLIVES_ITS_THREAD, tmp_path)
    assert said == ["answered 42", "connected False"], "it answered after its thread ended; the last close stopped it"


NEVER_PLACED = """
from bench_runner_core.plugins import ray_engine

try:
    ray_engine.RaySandbox(ray_engine._cluster(None), "two", 1)  # a pool size that is not a number
except TypeError:
    print("raised", flush=True)
print("connected", ray_engine._import_ray().is_initialized(), "clusters", len(ray_engine._CLUSTERS), flush=True)
"""


def test_a_stand_in_that_fails_to_start_stops_the_instance_it_started(tmp_path: Path) -> None:
    # it was counted as a user of the local instance: failing, it leaves, or the instance outlives every run
    assert said_by(NEVER_PLACED, tmp_path) == ["raised", "connected False clusters 0"]


CAMPAIGN = """
name = "spread"
parallel = 2
[defaults]
engine = "ray"
backend = "scripted"
echo_size = 4
workers = 1
[[tasks]]
benchmark = "echo"
options = {{ delay = 0.05 }}
[[tasks]]
benchmark = "echo"
options = {{ delay = 0.6 }}
"""


def test_a_campaign_runs_on_one_ray_instance_of_its_own(tmp_path: Path) -> None:
    # two runs at once on the local instance the campaign starts: the first to finish must not stop it
    (tmp_path / "spread.toml").write_text(CAMPAIGN.format())
    done = subprocess.run(
        [str(BIN), "campaign", "run", "spread.toml"], cwd=tmp_path, env=cli_env(tmp_path, **RAY_ENV),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = (tmp_path / "benchmark_results" / "campaigns" / "spread").iterdir()
    runs = [r for task in json.loads((folder / "manifest.json").read_text())["tasks"] for r in task["runs"]]
    assert [r["status"] for r in runs] == ["done", "done"]
    for entry in runs:
        summary = json.loads((tmp_path / "benchmark_results" / f"{entry['run_id']}.json").read_text())
        assert summary["config"]["engine"] == "ray" and summary["summary"]["total_samples"] == 4
        assert summary["metadata"]["backend"]["ray_generators"] == 1


def test_a_missing_ray_is_one_line_with_the_fix(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "ray.py").write_text("raise ImportError('hidden for this test')\n")
    env["PYTHONPATH"] = f"{hide}{os.pathsep}{env['PYTHONPATH']}"
    done = subprocess.run(
        [str(BIN), "--benchmark", "echo", "--backend", "scripted", "--engine", "ray"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("pip install 'bench-runner[ray]'")
    assert not (tmp_path / "benchmark_results").exists() or not list((tmp_path / "benchmark_results").glob("*.json"))
