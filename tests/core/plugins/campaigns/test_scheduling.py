"""The parts of running a campaign that need no runs: the memory gate, the status lines, the statistics."""

from __future__ import annotations

import pytest

from bench_runner_core.plugins.campaigns import scheduler as scheduling
from bench_runner_core.plugins.campaigns.manifest import RunEntry, TaskEntry
from bench_runner_core.plugins.campaigns.report import mean_ci95
from bench_runner_core.plugins.campaigns.status import StatusBoard
from bench_runner_core.records import (
    Attempt,
    Completion,
    Problem,
    RunConfig,
    RunInfo,
    SampleResult,
    Verdict,
)

CONFIG = RunConfig(benchmark="echo", backend="llama_cpp")


def task(display: str) -> TaskEntry:
    return TaskEntry(
        index=0,
        key=f"echo | {display}",
        source="task 1",
        benchmark="echo",
        model=display,
        display=display,
        label="",
        settings={},
        timeout=None,
        runs=(RunEntry(rollout=0, seed=0, run_id=f"run-{display}"),),
    )


def item(display: str, key: str | None, memory: int) -> scheduling.Item:
    t = task(display)
    return scheduling.Item(task=t, entry=t.runs[0], config=CONFIG, key=key, memory=memory, resume=False)


def test_a_model_that_does_not_fit_waits_while_others_run_and_the_status_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduling, "available_memory", lambda: 10_000_000_000)
    board = StatusBoard(total_runs=4, finished_runs=0, verbose=0, tty=False)
    sched = scheduling.Scheduler(kernel=None, manifest=None, parallel=3, board=board)  # type: ignore[arg-type]
    big, small, same, http = (
        item("big.gguf", "big", 8_000_000_000),
        item("small.gguf", "small", 4_000_000_000),
        item("small.gguf", "small", 4_000_000_000),
        item("ollama/x", None, 0),
    )
    sched._queue = [big, same, http]
    sched._running = {"r": (small, None)}  # small is loading: its memory is spoken for
    assert sched._pick() is http  # big waits; the second run of small follows the first, sharing its load
    assert board._waiting == "big.gguf waits for memory: needs 8.0 GB, 6.0 GB free"
    sched._running = {}
    assert sched._pick() is big  # alone, it runs anyway (a warning is logged)
    assert board._waiting == ""


def test_the_terminal_shows_a_line_per_run_and_a_campaign_bar(capsys: pytest.CaptureFixture[str]) -> None:
    board = StatusBoard(total_runs=3, finished_runs=1, verbose=0, tty=True)
    t = task("tiny.gguf")
    board.started(t, t.runs[0])
    info = RunInfo(run_id="run-tiny.gguf", config=CONFIG, start_time="", total_samples=4, problems=(Problem(id="e0"),))
    board.run_started(info)
    completion = Completion(text="0", completion_tokens=10, duration_s=0.5)
    for status in ("passed", "failed"):
        attempt = Attempt(completion=completion, program="", verdict=Verdict(status=status))  # type: ignore[arg-type]
        board.sample(info, SampleResult(problem_id="e0", sample_index=0, attempts=(attempt,)))
    with board._lock:
        board._draw()
    board.close()
    err = capsys.readouterr().err
    assert "tiny.gguf" in err and "echo" in err and "2/4" in err and "pass  50.0%" in err and "20.0 tok/s" in err
    assert "campaign [##########--------------------] 1/3 runs" in err


def test_mean_and_95_percent_interval_over_rollouts() -> None:
    mean, low, high = mean_ci95([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6)
    assert (low, high) == (pytest.approx(0.6 - 4.303 * 0.1 / 3**0.5), pytest.approx(0.6 + 4.303 * 0.1 / 3**0.5))
    assert mean_ci95([0.25]) == (0.25, None, None)
    assert mean_ci95([]) == (None, None, None)
