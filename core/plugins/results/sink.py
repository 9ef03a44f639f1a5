"""The ``database`` sink: keeps ``<results-dir>/results.sqlite`` current while runs write their JSON files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.api import BadInput
from bench_runner_core.convert import unstructure
from bench_runner_core.records import RunConfig, RunInfo, RunSummary, SampleResult
from bench_runner_core.store import RunStore

from . import db, rows

log = structlog.get_logger()
#: how long a finished sample may wait before its row is in the database
FLUSH_INTERVAL_S = 0.5


class DatabaseSink:
    """Rows appear as samples finish (within ``FLUSH_INTERVAL_S``), so a run in progress can be queried;
    the JSON files stay the truth.

    A database error never stops a run: it is logged, and the next command re-indexes the run
    from its files.
    """

    def __init__(self, config: RunConfig) -> None:
        self.store = RunStore(config.results_dir)
        self.conn: sqlite3.Connection | None = None
        # samples are read back from the checkpoint at the end; kept here only when no checkpoint is written
        self.keep = bool(config.sinks) and "checkpoint" not in config.sinks
        self.seen: list[dict[str, Any]] = []
        # rows not yet inserted: one transaction per interval, not per sample (run_finished inserts them all)
        self.pending: list[dict[str, Any]] = []
        self.flushed_at = -FLUSH_INTERVAL_S

    def run_started(self, run: RunInfo) -> None:
        def start(conn: sqlite3.Connection) -> None:
            row = rows.run_row(
                {"run_id": run.run_id, "start_time": run.start_time, **unstructure_run(run)}, state="running"
            )
            with db.Transaction(conn):
                conn.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
                rows.insert_row(conn, "runs", row)
                rows.upsert_problems(conn, row["benchmark"], ((p.id, p.attributes) for p in run.problems))
                rows.insert_samples(conn, run.run_id, self._checkpointed(run.run_id))

        # a short wait: a sample is never held up long by another writer; what fails is re-indexed later
        self.conn = self._guard(lambda: db.open_db(self.store.root, busy_timeout_s=5))
        if self.conn is not None:
            self._guard(lambda: start(self.conn))  # type: ignore[arg-type]

    def sample_finished(self, run: RunInfo, sample: SampleResult) -> None:
        data = unstructure(sample)
        if self.keep:
            self.seen.append(data)
        if self.conn is None:
            return
        self.pending.append(data)
        now = time.monotonic()
        if now - self.flushed_at < FLUSH_INTERVAL_S:
            return
        self.flushed_at = now
        batch, self.pending = self.pending, []

        def add(conn: sqlite3.Connection) -> None:
            with db.Transaction(conn):
                rows.insert_samples(conn, run.run_id, batch)

        self._guard(lambda: add(self.conn))  # type: ignore[arg-type]

    def run_finished(self, run: RunInfo, summary: RunSummary) -> None:
        if self.conn is None:
            return
        # the whole run again, from the checkpoint when there is one: it also holds samples restored by --resume
        samples = self._checkpointed(run.run_id) or self.seen
        path = self.store.summary_path(run.run_id)

        def finish(conn: sqlite3.Connection) -> None:
            stat = path.stat() if path.exists() else None
            with db.Transaction(conn):
                db.ingest(conn, unstructure(summary), samples, stat=(stat.st_mtime_ns, stat.st_size) if stat else None)

        self._guard(lambda: finish(self.conn))  # type: ignore[arg-type]
        self.conn.close()
        self.conn = None

    def _checkpointed(self, run_id: str) -> list[dict[str, Any]]:
        return db.read_checkpoint(Path(self.store.run_dir(run_id)) / "samples.jsonl")

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except (sqlite3.Error, OSError, BadInput) as exc:
            log.warning("results_db_write_failed", error=str(exc), fix="run `bench_runner db rebuild` later")
            return None


def unstructure_run(run: RunInfo) -> dict[str, Any]:
    return {"config": unstructure(run.config), "metadata": unstructure(dict(run.metadata))}
