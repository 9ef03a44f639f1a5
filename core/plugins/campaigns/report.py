"""The comparison of a campaign: per task, mean pass@1 over rollouts with a 95% CI, pass@k, speed, cost, ranks."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from bench_runner_core.convert import unstructure, write_json_atomic
from bench_runner_core.plugins.campaigns.manifest import Manifest, TaskEntry
from bench_runner_core.records import SCHEMA_VERSION
from bench_runner_core.scoring import mean_pass_at_k
from bench_runner_core.store import RunStore

REPORT_JSON = "comparison_report.json"
REPORT_CSV = "comparison_report.csv"
# two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; beyond that the normal's 1.96
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


@attrs.frozen(kw_only=True)
class Row:
    """One task (benchmark x model x settings) over its completed rollouts."""

    task: str
    benchmark: str
    model: str
    settings: str
    rollouts: int
    completed: int
    pass_at_1_runs: tuple[float, ...]
    pass_at_1: float | None
    ci95_low: float | None
    ci95_high: float | None
    pass_at_k: Mapping[str, float]
    tokens_per_second: float | None
    time_s: float | None
    cost: float
    cost_per_solved: float | None
    run_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Comparison:
    campaign: str
    state: str
    generated: str
    rows: tuple[Row, ...]
    rankings: Mapping[str, tuple[str, ...]]
    schema_version: int = SCHEMA_VERSION


def mean_ci95(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and the 95% confidence interval of the mean (Student's t); no interval for a single value."""
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    df = len(values) - 1
    half = (_T95[df - 1] if df <= len(_T95) else 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def task_row(task: TaskEntry, store: RunStore) -> Row:
    summaries = [s for s in (_summary(store, r.run_id) for r in task.runs if r.status == "done") if s is not None]
    scores = [float(s["summary"]["pass_at_k"].get("pass@1", 0.0)) for s in summaries]
    mean, low, high = mean_ci95(scores)
    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in summaries:
        for result in s["results"]:
            pooled[result["problem_id"]][0] += result["n"]
            pooled[result["problem_id"]][1] += result["passed"]
    tokens = seconds = 0.0
    for s in summaries:
        for sample in store.read_samples(s["run_id"]):
            for attempt in sample.attempts:
                if attempt.completion.completion_tokens and attempt.completion.duration_s > 0:
                    tokens += attempt.completion.completion_tokens
                    seconds += attempt.completion.duration_s
    cost = sum(float(s["summary"].get("total_cost") or 0.0) for s in summaries)
    solved = sum(int(s["summary"].get("successes") or 0) for s in summaries)
    return Row(
        task=task.key,
        benchmark=task.benchmark,
        model=task.display,
        settings=task.label,
        rollouts=len(task.runs),
        completed=len(summaries),
        pass_at_1_runs=tuple(scores),
        pass_at_1=mean,
        ci95_low=low,
        ci95_high=high,
        pass_at_k=mean_pass_at_k((n, c) for n, c in pooled.values()),
        tokens_per_second=tokens / seconds if seconds else None,
        time_s=statistics.fmean(float(s["duration_seconds"]) for s in summaries) if summaries else None,
        cost=cost,
        cost_per_solved=cost / solved if cost and solved else None,
        run_ids=tuple(s["run_id"] for s in summaries),
    )


def _summary(store: RunStore, run_id: str) -> dict[str, Any] | None:
    path = store.summary_path(run_id)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def compare(manifest: Manifest) -> Comparison:
    store = RunStore(manifest.results_dir)
    rows = tuple(task_row(task, store) for task in manifest.tasks)
    return Comparison(
        campaign=manifest.id,
        state=manifest.state,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=rows,
        rankings=rankings(rows),
    )


def rankings(rows: Sequence[Row]) -> dict[str, tuple[str, ...]]:
    """Task keys, best first: by mean pass@1, run time, tokens/s, and cost per solved sample."""

    def ranked(value: Any, reverse: bool) -> tuple[str, ...]:
        scored = [(value(r), r.task) for r in rows if value(r) is not None]
        return tuple(task for _, task in sorted(scored, key=lambda p: p[0], reverse=reverse))

    return {
        "best_score": ranked(lambda r: r.pass_at_1, True),
        "fastest": ranked(lambda r: r.time_s, False),
        "most_tokens_per_second": ranked(lambda r: r.tokens_per_second, True),
        "cheapest_per_solved": ranked(lambda r: r.cost_per_solved, False),
    }


CSV_FIELDS = (
    "benchmark",
    "model",
    "settings",
    "rollouts",
    "completed",
    "pass_at_1",
    "ci95_low",
    "ci95_high",
    "pass_at_k",
    "tokens_per_second",
    "time_s",
    "cost",
    "cost_per_solved",
    "run_ids",
)


def write_report(folder: Path, comparison: Comparison) -> tuple[Path, Path]:
    """``comparison_report.json`` and ``.csv`` beside the manifest (atomically)."""
    json_path, csv_path = folder / REPORT_JSON, folder / REPORT_CSV
    write_json_atomic(json_path, unstructure(comparison))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for row in comparison.rows:
        data = unstructure(row)
        data["pass_at_k"] = " ".join(f"{k}={v:.4f}" for k, v in row.pass_at_k.items())
        data["run_ids"] = " ".join(row.run_ids)
        writer.writerow(["" if data[f] is None else data[f] for f in CSV_FIELDS])
    tmp = csv_path.with_name(f".{REPORT_CSV}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    tmp.replace(csv_path)
    return json_path, csv_path


def table(comparison: Comparison) -> str:
    """The comparison for a terminal."""

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = [f"campaign {comparison.campaign} ({comparison.state})"]
    columns = ("benchmark", 14), ("model", 28), ("settings", 24), ("runs", -5), ("pass@1", -7), ("95% CI", -15)
    columns += ("tok/s", -8), ("time", -8), ("cost", -8)
    lines.append(" ".join(f"{name:<{w}}" if w > 0 else f"{name:>{-w}}" for name, w in columns))
    for r in comparison.rows:
        ci = f"{num(r.ci95_low, '.3f')}-{num(r.ci95_high, '.3f')}" if r.ci95_low is not None else "-"
        lines.append(
            f"{r.benchmark[:14]:14} {r.model[:28]:28} {r.settings[:24]:24} {r.completed:>2}/{r.rollouts:<2} "
            f"{num(r.pass_at_1, '.4f'):>7} {ci:>15} {num(r.tokens_per_second, '.1f'):>8} "
            f"{num(r.time_s, '.1f'):>8} {num(r.cost or None, '.4f'):>8}"
        )
        extra = "  ".join(f"{k}={v:.4f}" for k, v in r.pass_at_k.items() if k != "pass@1")
        if extra:
            lines.append(f"{'':14} {extra}")
    for name, order in comparison.rankings.items():
        if order:
            lines.append(f"{name.replace('_', ' ')}: " + "  >  ".join(order[:5]))
    return "\n".join(lines)


__all__ = ["Comparison", "Row", "compare", "mean_ci95", "rankings", "table", "write_report"]
