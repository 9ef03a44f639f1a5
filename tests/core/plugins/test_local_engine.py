"""The local engine in-process, with a scripted backend and a benchmark that grades without a sandbox."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from bench_runner_core.api import BadInput, RunJob
from bench_runner_core.plugins.local_engine import LocalEngine
from bench_runner_core.records import (
    Completion,
    GenerationParams,
    GenerationRequest,
    Problem,
    Prompt,
    RunConfig,
    RunInfo,
    SampleResult,
    Verdict,
)


class Exact:
    """Problem ``p<i>`` wants the text ``i``; grading compares strings, so no sandbox is needed."""

    def __init__(self, size: int) -> None:
        self.problems = [Problem(id=f"p{i}", data={"want": str(i)}) for i in range(size)]

    def prompt(self, problem: Problem, style: str) -> Prompt:
        return Prompt.completion(problem.id)

    def parse(self, problem: Problem, completion: Completion, style: str) -> str:
        return completion.text

    def grade(self, problem: Problem, program: str, sandbox: object) -> Verdict:
        return Verdict(status="passed" if program == problem.data["want"] else "failed")


class Scripted:
    """Answers right for even sample indices; ``fatal_at`` / ``crash_at`` name calls that raise."""

    def __init__(self, *, concurrency: int = 1, fatal_at: int | None = None, crash_at: int | None = None) -> None:
        self.concurrency = concurrency
        self.fatal_at, self.crash_at = fatal_at, crash_at
        self.requests: list[GenerationRequest] = []
        self._lock = threading.Lock()

    def generate(self, request: GenerationRequest) -> Completion:
        with self._lock:
            self.requests.append(request)
            call = len(self.requests)
        if call == self.fatal_at:
            raise BadInput("the server went away", "restart it")
        if call == self.crash_at:
            raise RuntimeError("connection reset")
        text = request.problem_id[1:] if request.sample_index % 2 == 0 else "wrong"
        return Completion(text=text)


def _run(
    backend: Scripted,
    pending: Sequence[tuple[Problem, int]],
    *,
    seed: int | None = None,
    stop_after: int | None = None,
    finished: list[SampleResult] | None = None,
    **config: Any,
) -> list[SampleResult]:
    """Run ``pending`` through the engine; the finished samples, in the order the engine handed them over."""
    run_config = RunConfig(benchmark="exact", backend="scripted", params=GenerationParams(seed=seed), **config)
    info = RunInfo(run_id="r", config=run_config, start_time="now", total_samples=len(pending), problems=())
    finished = [] if finished is None else finished
    job = RunJob(
        run=info,
        pending=pending,
        benchmark=Exact(0),
        backend=backend,
        sandbox=None,  # type: ignore[arg-type]
        style="completion",
        finished=finished.append,
        should_stop=lambda: stop_after is not None and len(backend.requests) >= stop_after,
    )
    LocalEngine(run_config).execute(job)
    return finished


def _pending(problems: int, samples: int) -> list[tuple[Problem, int]]:
    return [(p, i) for p in Exact(problems).problems for i in range(samples)]


def _keys(items: Sequence[Any]) -> list[tuple[str, int]]:
    return [(x.problem_id, x.sample_index) for x in items]


def test_samples_are_generated_and_finished_in_pending_order() -> None:
    backend = Scripted()
    pending = _pending(3, 2)
    finished = _run(backend, pending)
    assert _keys(backend.requests) == [(p.id, i) for p, i in pending]
    assert _keys(finished) == [(p.id, i) for p, i in pending]
    assert [s.verdict.status for s in finished] == ["passed", "failed"] * 3


def test_sample_i_of_a_seeded_run_gets_seed_plus_i() -> None:
    backend = Scripted()
    _run(backend, _pending(2, 3), seed=100)
    assert [(r.sample_index, r.params.seed) for r in backend.requests] == [(0, 100), (1, 101), (2, 102)] * 2


def test_an_unseeded_run_stays_unseeded() -> None:
    backend = Scripted()
    _run(backend, _pending(1, 3))
    assert [r.params.seed for r in backend.requests] == [None, None, None]


def test_every_sample_finishes_once_with_several_generators() -> None:
    backend = Scripted(concurrency=3)
    pending = _pending(5, 4)
    finished = _run(backend, pending, workers=2)
    assert sorted(_keys(finished)) == sorted((p.id, i) for p, i in pending)  # each once, none lost


def test_a_fatal_backend_error_reaches_the_caller_after_the_finished_samples() -> None:
    backend = Scripted(fatal_at=3)
    finished: list[SampleResult] = []
    with pytest.raises(BadInput, match="the server went away"):
        _run(backend, _pending(3, 1), finished=finished)
    assert _keys(finished) == [("p0", 0), ("p1", 0)]
    assert len(backend.requests) == 3  # nothing was asked after the fatal answer


def test_a_failed_request_is_an_error_verdict_and_the_run_goes_on() -> None:
    finished = _run(Scripted(crash_at=2), _pending(3, 1))
    assert [s.verdict.status for s in finished] == ["passed", "error", "passed"]
    assert "connection reset" in finished[1].verdict.detail


def test_stop_finishes_the_samples_in_flight_and_asks_for_no_more() -> None:
    backend = Scripted()
    finished = _run(backend, _pending(6, 1), stop_after=2)
    assert _keys(finished) == _keys(backend.requests) == [("p0", 0), ("p1", 0)]
