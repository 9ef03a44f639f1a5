"""``export``: runs or samples as CSV or JSONL, for spreadsheets and pandas."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import IO, Any

from . import queries

#: columns holding JSON text, written as nested objects in JSONL (and as JSON text in CSV)
_JSON_COLUMNS = {"config", "metadata", "summary", "statuses"}
_SOURCE_COLUMNS = {"source_mtime_ns", "source_size"}


def export_rows(
    conn: sqlite3.Connection, what: str, run_filter: queries.RunFilter, run_ids: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """``runs`` (one row per run), ``samples`` (one row per attempt, with its run's benchmark and model) or
    ``optimizations`` (one row per task of an optimization run, with its score-vs-rollouts history)."""
    if what == "optimizations":
        yield from _optimization_rows(conn, run_filter, run_ids)
        return
    if run_ids:
        ids = [queries.get_run(conn, run_id)["run_id"] for run_id in run_ids]
        where, args = f"r.run_id IN ({', '.join('?' * len(ids))})", list(ids)
    else:
        where, args = run_filter.where("r")
    if what == "runs":
        sql = f"SELECT r.* FROM runs r WHERE {where} ORDER BY r.start_time, r.run_id"
    else:
        sql = (
            "SELECT r.benchmark, r.model, s.*, p.difficulty, p.platform FROM samples s "
            "JOIN runs r ON r.run_id = s.run_id "
            "LEFT JOIN problems p ON p.benchmark = r.benchmark AND p.problem_id = s.problem_id "
            f"WHERE {where} ORDER BY r.start_time, s.run_id, s.problem_id, s.sample_index, s.attempt"
        )
    for row in conn.execute(sql, args):
        yield {k: row[k] for k in row.keys() if k not in _SOURCE_COLUMNS}  # noqa: SIM118 (a Row iterates values)


def _optimization_rows(
    conn: sqlite3.Connection, run_filter: queries.RunFilter, run_ids: Sequence[str]
) -> Iterator[dict[str, Any]]:
    from .optimization_view import OptimizationFilter, find

    chosen = OptimizationFilter(
        run_ids=tuple(run_ids),
        datasets=tuple(run_filter.benchmarks),
        models=tuple(run_filter.models),
        since=run_filter.since,
    )
    rows = find(conn, chosen)
    for row in sorted(rows, key=lambda r: (r["start_time"] or "", r["run_id"], r["task_id"])):
        yield {k: v for k, v in row.items() if k not in _SOURCE_COLUMNS}


def write(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    """Write rows as ``csv`` or ``jsonl``; returns how many."""
    count = 0
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if fmt == "jsonl":
            data = {k: json.loads(v) if k in _JSON_COLUMNS and v else v for k, v in row.items()}
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})
        count += 1
    return count
