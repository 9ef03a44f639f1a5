"""The built-in sinks: the per-sample checkpoint, the run summary and the run history."""

from __future__ import annotations

import os
from typing import Any

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunConfig, RunInfo, RunSummary, SampleResult
from bench_runner_core.registry import SinkRegistrar
from bench_runner_core.store import RunStore, append_history


class CheckpointSink:
    """``<results-dir>/<run_id>/samples.jsonl``: one fsynced line per finished sample."""

    def __init__(self, config: RunConfig) -> None:
        self.store = RunStore(config.results_dir)

    def sample_finished(self, run: RunInfo, sample: SampleResult) -> None:
        self.store.append_sample(run.run_id, sample)


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
    }
    return {
        "run_id": summary.run_id,
        "timestamp": summary.end_time,
        "benchmark": summary.config.benchmark,
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
        },
    }


@hookimpl
def bench_runner_register_sinks(register: SinkRegistrar) -> None:
    register("checkpoint", CheckpointSink, description="per-sample JSONL checkpoint (needed by --resume)")
    register("summary", SummarySink, description="run summary JSON per run")
    register("history", HistorySink, description="run history file (--history)")
