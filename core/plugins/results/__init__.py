"""The built-in results plugin: the ``database`` sink and the commands that read it.

``db``, ``compare``, ``problems``, ``export`` and ``report`` work on the results database
(``<results-dir>/results.sqlite``), an index of the JSON run files kept by the sink and rebuilt from
the files whenever it is missing or from an older schema. Registering is cheap: nothing here opens
a database or imports numpy until a command runs.
"""

from __future__ import annotations

from bench_runner_core.api import Sink
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunConfig


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
