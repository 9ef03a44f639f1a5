"""The built-in results plugin: the ``database`` sink and the commands that read it.

``db``, ``compare``, ``problems``, ``export``, ``report`` and ``optimizations`` work on the results database
(``<results-dir>/results.sqlite``), an index of the JSON run files kept by the sink and rebuilt from
the files whenever it is missing or from an older schema. Registering is cheap: nothing here opens
a database or imports numpy until a command runs.
"""

from __future__ import annotations

import structlog

from bench_runner_core.api import Sink
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunConfig

log = structlog.get_logger()


def database_sink(config: RunConfig) -> Sink:
    from .sink import DatabaseSink  # sqlite3 is imported when a run starts, not for --help

    return DatabaseSink(config)


@hookimpl
def bench_runner_register_sinks(register) -> None:  # type: ignore[no-untyped-def]
    register("database", database_sink, description="results database <results-dir>/results.sqlite (SQLite, WAL)")


@hookimpl
def bench_runner_register_commands(register) -> None:  # type: ignore[no-untyped-def]
    from .commands import COMMANDS  # click command definitions only: nothing heavy is imported

    for command in COMMANDS:
        register(command)


@hookimpl
def bench_runner_campaign_compared(folder: str) -> None:
    """A campaign's HTML report beside its manifest, from the same runs as its comparison."""
    from .report import write_campaign_report

    try:
        write_campaign_report(folder)
    except Exception as exc:  # a report is a convenience: it never fails the campaign
        log.warning("campaign_report_failed", folder=folder, error=repr(exc))


@hookimpl
def bench_runner_optimization_finished(results_dir: str, run_id: str, result: object) -> None:
    """An optimization task finished: its run's summary changed, so the database indexes it now."""
    from . import db

    try:
        db.open_db(results_dir, busy_timeout_s=5).close()
    except Exception as exc:  # the summary file is the truth: the next command indexes what failed here
        log.warning("results_db_write_failed", run_id=run_id, error=str(exc), fix="run `bench_runner db rebuild` later")
