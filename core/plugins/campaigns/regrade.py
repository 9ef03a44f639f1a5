"""``campaign eval``: grade every recorded completion again with today's parsers and graders, no generation.

The recorded runs stay as they were (they are the record of what happened then);
the new verdicts and what changed go to ``eval_<time>.json`` beside the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from bench_runner_core.api import Benchmark
from bench_runner_core.convert import unstructure, write_json_atomic
from bench_runner_core.kernel import Kernel
from bench_runner_core.plugins.campaigns.manifest import Manifest
from bench_runner_core.records import SCHEMA_VERSION, Problem, SampleResult, Verdict
from bench_runner_core.store import CONFIG, RunStore


@attrs.frozen(kw_only=True)
class Change:
    run_id: str
    problem_id: str
    sample_index: int
    before: str
    after: str
    detail: str


@attrs.frozen(kw_only=True)
class RunRegrade:
    run_id: str
    task: str
    samples: int
    passed_before: int
    passed_after: int


@attrs.frozen(kw_only=True)
class EvalReport:
    campaign: str
    generated: str
    runs: tuple[RunRegrade, ...]
    changes: tuple[Change, ...]
    schema_version: int = SCHEMA_VERSION


def regrade(kernel: Kernel, manifest: Manifest, workers: int | None = None) -> EvalReport:
    from bench_runner_core.sandbox.pool import SandboxPool

    store = RunStore(manifest.results_dir)
    benchmarks: dict[str, tuple[Benchmark, Mapping[str, Problem]]] = {}
    runs, changes = [], []
    threads = workers or os.cpu_count() or 2
    with SandboxPool(workers=workers) as pool, ThreadPoolExecutor(max_workers=threads) as grading:
        for task, entry in manifest.runs():
            if not (store.run_dir(entry.run_id) / CONFIG).exists():
                continue
            config, _ = store.load_config(entry.run_id)
            ident = repr((config.benchmark, sorted(config.options.items())))
            if ident not in benchmarks:
                benchmark = kernel.registry.get("benchmark", config.benchmark).factory(config)
                benchmarks[ident] = (benchmark, {p.id: p for p in benchmark.load_problems()})
            benchmark, problems = benchmarks[ident]
            style = _style(store, entry.run_id)
            samples = [s for s in store.read_samples(entry.run_id) if s.problem_id in problems]

            def grade(
                sample: SampleResult,
                benchmark: Benchmark = benchmark,
                problems: Mapping[str, Problem] = problems,
                style: Any = style,
            ) -> Verdict:
                final = sample.final
                if final.completion.error:  # nothing was generated: the verdict cannot change
                    return final.verdict
                problem = problems[sample.problem_id]
                return benchmark.grade(problem, benchmark.parse(problem, final.completion, style), pool)

            verdicts = list(grading.map(grade, samples))
            for sample, verdict in zip(samples, verdicts, strict=True):
                if verdict.status != sample.verdict.status:
                    changes.append(
                        Change(
                            run_id=entry.run_id,
                            problem_id=sample.problem_id,
                            sample_index=sample.sample_index,
                            before=sample.verdict.status,
                            after=verdict.status,
                            detail=verdict.detail[:300],
                        )
                    )
            runs.append(
                RunRegrade(
                    run_id=entry.run_id,
                    task=task.key,
                    samples=len(samples),
                    passed_before=sum(s.verdict.passed for s in samples),
                    passed_after=sum(v.passed for v in verdicts),
                )
            )
    return EvalReport(
        campaign=manifest.id,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        runs=tuple(runs),
        changes=tuple(changes),
    )


def _style(store: RunStore, run_id: str) -> Any:
    """The prompt style the run used (recorded in its summary); parsing depends on it."""
    if store.summary_path(run_id).exists():
        style = store.read_summary(run_id).get("metadata", {}).get("prompt_style")
        if style:
            return style
    config, _ = store.load_config(run_id)
    return config.prompt_style or "completion"


def write_eval(folder: Path, report: EvalReport) -> Path:
    path = folder / f"eval_{datetime.now(UTC):%Y%m%d_%H%M%S}.json"
    write_json_atomic(path, unstructure(report))
    return path


__all__ = ["EvalReport", "regrade", "write_eval"]
