"""The results database, ``<results-dir>/results.sqlite``: an index of the JSON run files.

The JSON files stay the truth. Every row here is derived from a run summary
(``<run_id>.json``) and its checkpoint (``<run_id>/samples.jsonl``), so the
database can be deleted at any time: the next command rebuilds it. The schema
is documented in README ("The results database").
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.api import BadInput

from . import optimizations
from .rows import INSERT_SAMPLE, insert_row, json_text, run_row, sample_rows_of, upsert_problems

DB_NAME = "results.sqlite"
#: ``PRAGMA user_version`` of ``schema.sql``; a database with another version is rebuilt
DB_SCHEMA = 2

log = structlog.get_logger()


def schema() -> str:
    """The ``CREATE`` statements of the database (``schema.sql`` beside this module)."""
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


def connect(path: str | os.PathLike[str], *, busy_timeout_s: float = 60) -> sqlite3.Connection:
    """A connection set up for several writers: WAL, a busy timeout, foreign keys on."""
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), so a writer never upgrades a read lock
    conn = sqlite3.connect(os.fspath(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    if os.fspath(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL stays consistent after a crash; the JSON is the truth
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Transaction:
    """``with Transaction(conn):`` a write transaction taken up front, committed or rolled back."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if kind else "COMMIT")


def open_db(
    results_dir: str | os.PathLike[str], *, busy_timeout_s: float = 60, in_memory: bool = False
) -> sqlite3.Connection:
    """The database of a results dir, created, rebuilt or brought up to date with the JSON files first.

    ``in_memory`` builds a throwaway database from the files and leaves the folder alone; so does a
    results dir we cannot write to (an archive, a CI artifact), so every command still works there.
    """
    root = Path(results_dir)
    path = root / DB_NAME
    if in_memory or not _writable(root, path):
        conn = connect(":memory:")
        _rebuild(conn, root)
        return conn
    try:
        conn = connect(path, busy_timeout_s=busy_timeout_s)
        _bring_up_to_date(conn, root)
        return conn
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc) or path.is_dir():
            raise BadInput(
                f"cannot use the results database {path} ({exc})",
                "retry when other bench_runner processes are done, or delete it: it is rebuilt from the run files",
            ) from None
        # a damaged index is thrown away: everything in it comes from the JSON files
        log.warning("results_db_rebuilt", path=str(path), reason=str(exc))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = connect(path, busy_timeout_s=busy_timeout_s)
    _bring_up_to_date(conn, root)
    return conn


def rebuild(results_dir: str | os.PathLike[str]) -> sqlite3.Connection:
    """Drop every table and rebuild the database from the JSON files (``bench_runner db rebuild``)."""
    root = Path(results_dir)
    root.mkdir(parents=True, exist_ok=True)
    conn = connect(root / DB_NAME)
    _rebuild(conn, root, force=True)
    return conn


def _writable(root: Path, path: Path) -> bool:
    # a results dir that does not exist holds nothing to index: no folder is created for it
    if path.exists():
        return os.access(path, os.W_OK) and os.access(root, os.W_OK)
    return root.is_dir() and os.access(root, os.W_OK)


def _bring_up_to_date(conn: sqlite3.Connection, root: Path) -> None:
    if conn.execute("PRAGMA user_version").fetchone()[0] != DB_SCHEMA:
        _rebuild(conn, root)
    else:
        sync(conn, root)


def _rebuild(conn: sqlite3.Connection, root: Path, *, force: bool = False) -> None:
    with Transaction(conn):
        # another process may have rebuilt it while we waited for the write lock
        if not force and conn.execute("PRAGMA user_version").fetchone()[0] == DB_SCHEMA:
            return
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            conn.execute(f'DROP TABLE "{table}"')
        for statement in schema().split(";"):
            if statement.strip():
                conn.execute(statement)
        for run_id in sorted(_summary_files(root)):
            ingest_files(conn, root, run_id)
        for run_id in sorted(_summary_files(root, optimizations.PREFIX)):
            optimizations.ingest_file(conn, root, run_id)
        conn.execute(f"PRAGMA user_version = {DB_SCHEMA}")
    file = conn.execute("PRAGMA database_list").fetchone()[2]
    if file:  # a throwaway one in memory (a results dir we cannot write to) is not worth a line
        log.info("results_db_built", path=file)


def sync(conn: sqlite3.Connection, root: Path) -> int:
    """Ingest summaries that are new or changed on disk, drop rows whose files are gone; returns changes.

    Benchmark runs (``bench_*.json``) and optimization runs (``opt_*.json``) alike.
    """
    files = _summary_files(root)
    known = {r["run_id"]: r for r in conn.execute("SELECT run_id, state, source_mtime_ns, source_size FROM runs")}
    stale = [rid for rid, stat in files.items() if rid not in known or _stat_of(known[rid]) != stat]
    gone = [
        rid
        for rid, row in known.items()
        if rid not in files and (row["state"] != "running" or not (root / rid).is_dir())
    ]
    opt_files = _summary_files(root, optimizations.PREFIX)
    opt_known = optimizations.known(conn)
    opt_stale = [rid for rid, stat in opt_files.items() if opt_known.get(rid) != stat]
    opt_gone = [rid for rid in opt_known if rid not in opt_files]
    if not stale and not gone and not opt_stale and not opt_gone:
        return 0
    with Transaction(conn):
        for run_id in gone:
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        for run_id in stale:
            ingest_files(conn, root, run_id)
        for run_id in opt_gone:
            conn.execute("DELETE FROM optimization_runs WHERE run_id = ?", (run_id,))
        for run_id in opt_stale:
            optimizations.ingest_file(conn, root, run_id)
    return len(stale) + len(gone) + len(opt_stale) + len(opt_gone)


def _stat_of(row: sqlite3.Row) -> tuple[int, int]:
    return (row["source_mtime_ns"], row["source_size"])


def _summary_files(root: Path, prefix: str = "bench_") -> dict[str, tuple[int, int]]:
    if not root.is_dir():
        return {}
    found = {}
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(".json") and entry.is_file():
                stat = entry.stat()
                found[entry.name[:-5]] = (stat.st_mtime_ns, stat.st_size)
    return found


def ingest_files(conn: sqlite3.Connection, root: Path, run_id: str) -> None:
    """(Re)index one run from its summary file and checkpoint, inside the caller's transaction."""
    found = optimizations.read_summary(root, run_id)
    if found is not None:
        ingest(conn, found[0], read_checkpoint(root / run_id / "samples.jsonl"), stat=found[1])


def ingest(
    conn: sqlite3.Connection,
    summary: Mapping[str, Any],
    samples: Iterable[Mapping[str, Any]],
    *,
    stat: tuple[int, int] | None = None,
) -> None:
    """Replace one run's rows with ``summary`` (a summary file's data) and its samples (checkpoint lines)."""
    run_id = summary["run_id"]
    conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    sample_rows = [row for sample in samples for row in sample_rows_of(run_id, sample)]
    rates = [r[13] for r in sample_rows if r[13] is not None]
    row = run_row(summary, state="complete" if summary.get("complete", True) else "incomplete")
    row.update(
        tokens_per_second=sum(rates) / len(rates) if rates else None,
        source_mtime_ns=stat[0] if stat else None,
        source_size=stat[1] if stat else None,
    )
    insert_row(conn, "runs", row)
    benchmark = row["benchmark"]
    results = summary.get("results") or []
    conn.executemany(
        "INSERT OR REPLACE INTO run_problems VALUES (?, ?, ?, ?, ?)",
        [(run_id, r["problem_id"], r.get("n", 0), r.get("passed", 0), json_text(r.get("statuses"))) for r in results],
    )
    upsert_problems(conn, benchmark, ((r["problem_id"], r.get("attributes") or {}) for r in results))
    conn.executemany(INSERT_SAMPLE, sample_rows)


def read_checkpoint(path: Path) -> list[dict[str, Any]]:
    """A checkpoint's samples as plain data, read-only: a torn last line (a run writing now) is skipped."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    samples: dict[tuple[str, int], dict[str, Any]] = {}
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "problem_id" in data:
            samples[(data["problem_id"], data.get("sample_index", 0))] = data
    return list(samples.values())


__all__ = ["DB_NAME", "DB_SCHEMA", "connect", "ingest", "open_db", "read_checkpoint", "rebuild", "sync"]
