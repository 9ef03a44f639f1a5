"""Reading the results database: run filters, per-problem scores, solve rates across runs."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from bench_runner_core.api import BadInput

_RELATIVE = re.compile(r"^(\d+)([dhw])$")


@attrs.frozen(kw_only=True)
class RunFilter:
    """Which runs a command looks at. Empty fields match everything."""

    benchmarks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    since: str | None = None
    complete_only: bool = False

    def where(self, table: str = "") -> tuple[str, list[Any]]:
        """An SQL condition on the ``runs`` table (named ``table`` in the query) and its arguments."""
        t = f"{table}." if table else ""
        clauses: list[str] = []
        args: list[Any] = []
        if self.benchmarks:
            clauses.append(f"{t}benchmark IN ({', '.join('?' * len(self.benchmarks))})")
            args += self.benchmarks
        if self.models:
            # a model matches by a case-insensitive part of its name or path: `--model qwen`
            parts = []
            for model in self.models:
                parts.append(f"({t}model LIKE ? ESCAPE '\\' OR {t}model_path LIKE ? ESCAPE '\\')")
                pattern = f"%{_like(model)}%"
                args += [pattern, pattern]
            clauses.append("(" + " OR ".join(parts) + ")")
        if self.since:
            clauses.append(f"{t}start_time >= ?")
            args.append(parse_since(self.since))
        if self.complete_only:
            clauses.append(f"{t}state = 'complete'")
        else:
            clauses.append(f"{t}state != 'running'")
        return " AND ".join(clauses), args


def natural_key(problem_id: str) -> tuple[Any, ...]:
    """Sort ``HumanEval/2`` before ``HumanEval/10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", problem_id))


def parse_since(value: str) -> str:
    """``--since`` as an ISO timestamp to compare run start times with: a date, a timestamp, or 7d / 12h / 2w."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]
        return (datetime.now(UTC) - delta).isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(
            f"--since {value!r} is not a date", "pass a date (2026-11-01), a timestamp, or an age like 7d or 12h"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_runs(conn: sqlite3.Connection, run_filter: RunFilter, *, limit: int | None = None) -> list[sqlite3.Row]:
    """Runs matching the filter, newest first."""
    where, args = run_filter.where()
    sql = f"SELECT * FROM runs WHERE {where} ORDER BY start_time DESC, run_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return conn.execute(sql, args).fetchall()


def get_run(conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
    """One run by its id or an unambiguous start of it."""
    rows = _matching(conn, run_id)
    if len(rows) == 1:
        return rows[0]
    raise BadInput(f"no run {run_id!r} in the results", "check the id with `bench_runner list`, or pass --results-dir")


def _matching(conn: sqlite3.Connection, run_id: str) -> list[sqlite3.Row]:
    """The run with this id, else up to two runs whose id starts with it; several is an error."""
    row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is not None:
        return [row]
    rows = conn.execute("SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2", (_like(run_id) + "%",)).fetchall()
    if len(rows) > 1:
        raise BadInput(f"{run_id!r} matches several runs", "give more of the run id (see `bench_runner list`)")
    return rows


def problem_scores(conn: sqlite3.Connection, run_id: str) -> dict[str, tuple[int, int]]:
    """problem id -> (samples, passed samples) of a run: from its summary, else from its sample rows."""
    rows = conn.execute("SELECT problem_id, n, passed FROM run_problems WHERE run_id = ?", (run_id,)).fetchall()
    if not rows:
        rows = conn.execute(
            "SELECT problem_id, COUNT(*) AS n, SUM(passed) AS passed FROM samples "
            "WHERE run_id = ? AND final = 1 GROUP BY problem_id",
            (run_id,),
        ).fetchall()
    return {r["problem_id"]: (r["n"], r["passed"]) for r in rows if r["n"]}


def problem_attributes(conn: sqlite3.Connection, benchmark: str, problem_ids: Sequence[str]) -> dict[str, dict]:
    rows = conn.execute("SELECT problem_id, attributes FROM problems WHERE benchmark = ?", (benchmark,)).fetchall()
    wanted = set(problem_ids)
    return {r["problem_id"]: json.loads(r["attributes"] or "{}") for r in rows if r["problem_id"] in wanted}


@attrs.frozen(kw_only=True)
class ProblemRate:
    benchmark: str
    problem_id: str
    runs: int
    models: int
    samples: int
    passed: int
    solved_by: int
    attributes: dict[str, Any] = attrs.field(factory=dict)

    @property
    def rate(self) -> float:
        return self.passed / self.samples if self.samples else 0.0


def solve_rates(conn: sqlite3.Connection, run_filter: RunFilter) -> list[ProblemRate]:
    """Each problem's solve rate over the matching runs (all their samples), hardest first."""
    where, args = run_filter.where("r")
    rows = conn.execute(
        f"""
        SELECT r.benchmark, p.problem_id, COUNT(*) AS runs, COUNT(DISTINCT r.model) AS models,
               SUM(p.n) AS samples, SUM(p.passed) AS passed,
               COUNT(DISTINCT CASE WHEN p.passed > 0 THEN r.model END) AS solved_by, pr.attributes
        FROM run_problems p
        JOIN runs r ON r.run_id = p.run_id
        LEFT JOIN problems pr ON pr.benchmark = r.benchmark AND pr.problem_id = p.problem_id
        WHERE {where}
        GROUP BY r.benchmark, p.problem_id
        """,
        args,
    ).fetchall()
    rates = [
        ProblemRate(
            benchmark=r["benchmark"],
            problem_id=r["problem_id"],
            runs=r["runs"],
            models=r["models"],
            samples=r["samples"],
            passed=r["passed"],
            solved_by=r["solved_by"],
            attributes=json.loads(r["attributes"] or "{}"),
        )
        for r in rows
    ]
    return sorted(rates, key=lambda p: (p.rate, p.benchmark, natural_key(p.problem_id)))


def list_records(
    results_dir: str | Path, run_filter: RunFilter, *, limit: int | None = None, in_memory: bool = False
) -> list[dict[str, Any]]:
    """Runs as ``list --json`` prints them (run_id, start_time, config, summary, complete), newest first."""
    from . import db

    if not Path(results_dir).is_dir():
        return []
    conn = db.open_db(results_dir, in_memory=in_memory)
    try:
        return [
            {
                "run_id": r["run_id"],
                "start_time": r["start_time"],
                "config": json.loads(r["config"] or "{}"),
                "summary": json.loads(r["summary"] or "{}"),
                "complete": r["state"] == "complete",
            }
            for r in find_runs(conn, run_filter, limit=limit)
        ]
    finally:
        conn.close()


def resolve_run_id(results_dir: str | Path, run_id: str, *, in_memory: bool = False) -> str:
    """The full id of a run given by its id or a unique start of it (``show bench_1a2b``)."""
    from . import db

    if not Path(results_dir).is_dir():
        return run_id
    conn = db.open_db(results_dir, in_memory=in_memory)
    try:
        rows = _matching(conn, run_id)
    finally:
        conn.close()
    return rows[0]["run_id"] if rows else run_id
