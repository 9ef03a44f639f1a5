"""Optimization runs in the results database: how the ``optimization_*`` tables are filled.

An optimization run (``bench_runner optimize``, from the optimizers plugin) keeps its
summary in ``<results-dir>/opt_<id>.json``; its ``results`` list holds one record per
finished task (see README, "Optimization results"). These rows are derived from that
file alone, like the ``runs`` rows from ``bench_*.json``, so a rebuild restores them and
nothing here imports the optimizers plugin: without it, the tables simply stay as the
files say.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger()

#: file names of optimization run summaries in a results dir
PREFIX = "opt_"
_USAGE_ROLES = ("task", "proposer", "test")


def known(conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """run id -> (mtime_ns, size) of the summary each indexed optimization run was read from."""
    rows = conn.execute("SELECT run_id, source_mtime_ns, source_size FROM optimization_runs")
    return {r["run_id"]: (r["source_mtime_ns"], r["source_size"]) for r in rows}


def read_summary(root: Path, run_id: str) -> tuple[dict[str, Any], tuple[int, int]] | None:
    """A summary file (``bench_*`` or ``opt_*``) with its (mtime_ns, size); None, logged, when it is unreadable."""
    path = root / f"{run_id}.json"
    try:
        stat = path.stat()
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("results_db_skipped_run", path=str(path), reason=str(exc))
        return None
    if not isinstance(summary, dict) or summary.get("run_id") != run_id:
        log.warning("results_db_skipped_run", path=str(path), reason="not a run summary")
        return None
    return summary, (stat.st_mtime_ns, stat.st_size)


def ingest_file(conn: sqlite3.Connection, root: Path, run_id: str) -> None:
    """(Re)index one optimization run from its summary file, inside the caller's transaction."""
    found = read_summary(root, run_id)
    if found is not None and found[0].get("mode") == "optimize":
        ingest(conn, found[0], stat=found[1])


def ingest(conn: sqlite3.Connection, summary: Mapping[str, Any], *, stat: tuple[int, int] | None = None) -> None:
    """Replace one optimization run's rows with what its summary says."""
    run_id = summary["run_id"]
    conn.execute("DELETE FROM optimization_runs WHERE run_id = ?", (run_id,))
    statuses = list((summary.get("tasks") or {}).values())
    conn.execute(
        "INSERT INTO optimization_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            "complete" if summary.get("complete") else "incomplete",
            summary.get("start_time"),
            summary.get("end_time"),
            summary.get("engine"),
            int(bool(summary.get("test_mode"))),
            summary.get("seed"),
            json.dumps(summary.get("seeds")) if summary.get("seeds") else None,
            len(statuses),
            statuses.count("done"),
            statuses.count("failed"),
            json.dumps(summary.get("table") or []),
            summary.get("schema_version"),
            stat[0] if stat else None,
            stat[1] if stat else None,
        ),
    )
    for record in summary.get("results") or []:
        conn.execute(f"INSERT INTO optimizations VALUES ({', '.join('?' * 45)})", _task_row(run_id, record))
        conn.executemany(
            "INSERT OR REPLACE INTO optimization_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    record["task_id"],
                    point.get("trial", i + 1),
                    point.get("rollouts"),
                    point.get("proposer_tokens"),
                    point.get("candidate"),
                    point.get("score"),
                    point.get("best"),
                )
                for i, point in enumerate(record.get("history") or [])
            ],
        )


def _task_row(run_id: str, r: Mapping[str, Any]) -> tuple[Any, ...]:
    splits = r.get("splits") or {}
    budget = r.get("budget") or {}
    usage = r.get("usage") or {}
    best = r.get("best_prompt") or {}
    per_role = []
    for role in _USAGE_ROLES:
        used = usage.get(role) or {}
        per_role += [used.get("calls"), used.get("prompt_tokens"), used.get("completion_tokens")]
    return (
        run_id,
        r["task_id"],
        r["dataset"],
        r["optimizer"],
        r.get("model"),
        r.get("proposer_model"),
        r.get("seed"),
        r["status"],
        r.get("stop_reason"),
        r.get("metric"),
        splits.get("train"),
        splits.get("validation"),
        splits.get("test"),
        *_interval(r.get("baseline_test")),
        *_interval(r.get("optimized_test")),
        *_interval(r.get("gain")),
        r.get("baseline_validation"),
        r.get("best_validation"),
        r.get("trials"),
        budget.get("max_trials"),
        r.get("rollouts"),
        budget.get("max_rollouts"),
        r.get("proposer_tokens"),
        budget.get("max_proposer_tokens"),
        *per_role,
        r.get("cost"),
        r.get("duration_s"),
        best.get("instruction"),
        json.dumps(best.get("demos")) if best else None,
        r.get("error") or None,
        r.get("schema_version"),
    )


def _interval(value: Mapping[str, Any] | None) -> tuple[Any, Any, Any]:
    value = value or {}
    return value.get("mean"), value.get("low"), value.get("high")
