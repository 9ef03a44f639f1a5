"""The built-in sinks: the per-sample checkpoint, the run summary and the run history."""

from __future__ import annotations

import os
import time
from typing import Any

from bench_runner_core.convert import unstructure
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunConfig, RunInfo, RunSummary, SampleResult
from bench_runner_core.registry import SinkRegistrar
from bench_runner_core.store import RunStore, append_history, check_history

#: the longest a checkpoint line waits for its fsync (a group commit: one fsync covers every line
#: written since the last; a fsync per line would cap grading at the disk's fsyncs per second)
SYNC_INTERVAL_S = 0.5


class CheckpointSink:
    """``<results-dir>/<run_id>/samples.jsonl``: one line per finished sample, and per failed attempt
    that another follows (so ``--resume`` goes on at the next attempt).

    Each line is written at once (a crash of the run loses nothing) and fsynced within
    ``SYNC_INTERVAL_S`` (a power cut loses at most that much grading, which ``--resume`` redoes).
    """

    def __init__(self, config: RunConfig) -> None:
        self.store = RunStore(config.results_dir)
        self._synced_at = -SYNC_INTERVAL_S

    def attempt_finished(self, run: RunInfo, sample: SampleResult) -> None:
        self._append(run, sample)

    def sample_finished(self, run: RunInfo, sample: SampleResult) -> None:
        self._append(run, sample)

    def run_finished(self, run: RunInfo, summary: RunSummary) -> None:
        self.store.sync_samples(run.run_id)

    def _append(self, run: RunInfo, sample: SampleResult) -> None:
        now = time.monotonic()
        sync = now - self._synced_at >= SYNC_INTERVAL_S
        self.store.append_sample(run.run_id, sample, sync=sync)
        if sync:
            self._synced_at = now


class SummarySink:
    """``<results-dir>/<run_id>.json``: the run summary, also for an interrupted run."""

    def __init__(self, config: RunConfig) -> None:
        self.store = RunStore(config.results_dir)

    def run_finished(self, run: RunInfo, summary: RunSummary) -> None:
        self.store.write_summary(summary)


class HistorySink:
    """The history file (``benchmark_results.json``): one entry per completed run."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        check_history(config.history)

    def run_finished(self, run: RunInfo, summary: RunSummary) -> None:
        if summary.complete:
            append_history(os.fspath(summary.config.history), history_entry(summary))


def history_entry(summary: RunSummary) -> dict[str, Any]:
    """The run as one entry of ``benchmark_results.json`` (the format users already know)."""
    s = summary.summary
    backend = dict(summary.metadata.get("backend", {}))
    config = {
        "path": summary.config.model or backend.get("model_path"),
        "backend": summary.config.backend,
        "gpu_layers": backend.get("gpu_layers"),
        "temperature": summary.config.params.temperature,
        "max_tokens": summary.config.params.max_tokens,
        "n_samples": summary.config.n_samples,
        "prompt_style": summary.metadata.get("prompt_style"),
        "seed": summary.config.params.seed,
        "mode": summary.config.mode,
        "max_iterations": summary.config.max_iterations,
    }
    entry: dict[str, Any] = {
        "run_id": summary.run_id,
        "timestamp": summary.end_time,
        "benchmark": summary.config.benchmark,
        "mode": summary.mode,
        "model": backend.get("model_name") or summary.config.model or summary.config.backend,
        "config": config,
        "results": {
            "score": s.pass_at_k.get("pass@1", 0.0),
            "pass_at_k": dict(s.pass_at_k),
            "tracks": {k: dict(v) for k, v in s.tracks.items()},
            "time_taken": summary.duration_seconds,
            "total_passed": sum(1 for r in summary.results if r.passed > 0),
            "total_problems": s.total_problems,
            "difficulty_scores": dict(s.breakdowns.get("difficulty", {})),
            "breakdowns": {k: dict(v) for k, v in s.breakdowns.items()},
            "failed_tasks": [r.problem_id for r in summary.results if r.passed == 0],
            "avg_iterations": s.avg_iterations,
        },
    }
    if summary.comparison is not None:
        entry["comparison"] = unstructure(summary.comparison)
    return entry


@hookimpl
def bench_runner_register_sinks(register: SinkRegistrar) -> None:
    # the summary comes after the history: a complete summary on disk is what tells a resume (and a
    # resumed campaign) that the run's end was recorded, so it must be written last
    register("checkpoint", CheckpointSink, description="per-sample JSONL checkpoint (needed by --resume)")
    register("history", HistorySink, description="run history file (--history)")
    register("summary", SummarySink, description="run summary JSON per run")
