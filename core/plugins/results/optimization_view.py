"""``bench_runner optimizations``: the tasks of optimization runs, read from the results database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .queries import _like, parse_since


@attrs.frozen(kw_only=True)
class OptimizationFilter:
    """Which optimization tasks ``bench_runner optimizations`` shows. Empty fields match everything."""

    run_ids: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    optimizers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    since: str | None = None


def find(conn: sqlite3.Connection, chosen: OptimizationFilter) -> list[dict[str, Any]]:
    """Tasks of optimization runs, newest run first, each with its score-vs-rollouts history."""
    clauses, args = ["1 = 1"], []
    for column, values in (("o.dataset", chosen.datasets), ("o.optimizer", chosen.optimizers)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            args += list(values)
    if chosen.run_ids:
        clauses.append("(" + " OR ".join("o.run_id LIKE ? ESCAPE '\\'" for _ in chosen.run_ids) + ")")
        args += [_like(run_id) + "%" for run_id in chosen.run_ids]
    if chosen.models:
        clauses.append("(" + " OR ".join("o.model LIKE ? ESCAPE '\\'" for _ in chosen.models) + ")")
        args += [f"%{_like(model)}%" for model in chosen.models]
    if chosen.since:
        clauses.append("r.start_time >= ?")
        args.append(parse_since(chosen.since))
    rows = conn.execute(
        "SELECT o.*, r.start_time, r.state AS run_state FROM optimizations o "
        "JOIN optimization_runs r ON r.run_id = o.run_id "
        f"WHERE {' AND '.join(clauses)} ORDER BY r.start_time DESC, o.run_id DESC, o.task_id",
        args,
    ).fetchall()
    history: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for point in conn.execute("SELECT * FROM optimization_history ORDER BY run_id, task_id, trial"):
        history.setdefault((point["run_id"], point["task_id"]), []).append(
            {k: point[k] for k in ("trial", "rollouts", "proposer_tokens", "candidate", "score", "best")}
        )
    out = []
    for row in rows:
        data = {k: row[k] for k in row.keys()}  # noqa: SIM118 (a Row iterates values)
        data["best_demos"] = json.loads(data["best_demos"]) if data["best_demos"] else []
        data["history"] = history.get((row["run_id"], row["task_id"]), [])
        out.append(data)
    return out


def render(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per task: the run, what was optimized, test scores with 95% intervals, budget use, why it stopped."""
    if not rows:
        return "no optimization runs match"

    def ci(prefix: str, row: Mapping[str, Any]) -> str:
        if row[prefix] is None:
            return "-"
        return f"{row[prefix]:.3f} [{row[prefix + '_low']:.3f}, {row[prefix + '_high']:.3f}]"

    lines = [
        f"{'run':<30} {'dataset':<12} {'optimizer':<24} {'model':<16} {'seed':>4}  {'baseline [95% CI]':<22} "
        f"{'optimized [95% CI]':<22} {'gain [95% CI]':<24} {'rollouts':>8}  stop"
    ]
    for row in rows:
        stop = row["stop_reason"] if row["status"] == "done" else f"{row['status']}: {row['error'] or ''}"[:60]
        lines.append(
            f"{row['run_id']:<30} {row['dataset']:<12} {row['optimizer']:<24} {str(row['model'])[-16:]:<16} "
            f"{row['seed'] if row['seed'] is not None else '-':>4}  {ci('baseline_test', row):<22} "
            f"{ci('optimized_test', row):<22} {ci('gain', row):<24} "
            f"{row['rollouts'] if row['rollouts'] is not None else '-':>8}  {stop}"
        )
    return "\n".join(lines)


def run_ids(conn: sqlite3.Connection, since: str | None = None) -> list[str]:
    """Every optimization run (started on or after ``since``), oldest first: what ``report --all`` adds."""
    if since:
        rows = conn.execute(
            "SELECT run_id FROM optimization_runs WHERE start_time >= ? ORDER BY start_time", (parse_since(since),)
        )
    else:
        rows = conn.execute("SELECT run_id FROM optimization_runs ORDER BY start_time")
    return [r["run_id"] for r in rows]


def report_rows(conn: sqlite3.Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The tasks of these optimization runs as the HTML report draws them."""
    if not ids:
        return []
    out = []
    for row in find(conn, OptimizationFilter(run_ids=tuple(ids))):
        entry = {k: row[k] for k in _REPORTED}
        for name in ("baseline_test", "optimized_test", "gain"):
            entry[name] = None if row[name] is None else [row[name], row[name + "_low"], row[name + "_high"]]
        out.append(entry)
    return out


_REPORTED = (
    "run_id", "task_id", "dataset", "optimizer", "model", "seed", "status", "stop_reason", "rollouts", "trials",
    "proposer_tokens", "cost", "duration_s", "best_instruction", "error",
)  # fmt: skip
