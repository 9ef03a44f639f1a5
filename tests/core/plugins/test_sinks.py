"""The checkpoint sink: every line written at once, one fsync per interval (a group commit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench_runner_core.plugins import sinks
from bench_runner_core.records import Attempt, Completion, RunConfig, RunInfo, SampleResult, Verdict
from bench_runner_core.store import RunStore


def _sample(index: int) -> SampleResult:
    verdict = Verdict(status="passed")
    return SampleResult(
        problem_id="p",
        sample_index=index,
        attempts=(Attempt(completion=Completion(text="t"), program="t", verdict=verdict),),
    )


def test_a_burst_of_samples_costs_one_fsync_and_the_run_end_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = RunConfig(benchmark="echo", backend="scripted", results_dir=str(tmp_path))
    run = RunInfo(
        run_id="bench_0123abcd_20260101_000000", config=config, start_time="now", total_samples=50, problems=()
    )
    RunStore(tmp_path).create(run.run_id, config, "now")
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    sink = sinks.CheckpointSink(config)
    monkeypatch.setattr(sinks.time, "monotonic", lambda: 100.0)  # the whole burst within one interval
    for index in range(50):
        sink.sample_finished(run, _sample(index))
    assert len(synced) == 1  # the first line of the interval
    assert len(RunStore(tmp_path).read_samples(run.run_id)) == 50  # every line is there before its fsync
    monkeypatch.setattr(sinks.time, "monotonic", lambda: 100.0 + sinks.SYNC_INTERVAL_S)
    sink.sample_finished(run, _sample(50))
    assert len(synced) == 2  # the interval is over: the next line fsyncs
    sink.run_finished(run, None)  # type: ignore[arg-type]
    assert len(synced) == 3  # the run's end fsyncs whatever is left
