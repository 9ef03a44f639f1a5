"""What a benchmark asks the sandbox to run.

Two kinds of job cover code benchmarks:

* :class:`StdioJob` runs the program once per case as a script with the case's
  input on a real stdin, and compares its stdout with the expected output in
  the trusted worker (``compare`` names a function ``(expected, actual) -> bool``).
  The cases run in order, each in a fresh fork of one confined process, with
  an empty temp dir; whatever a case leaves running is killed before the next.
* :class:`CheckJob` loads the program in an untrusted process and runs a
  trusted ``checker`` (``"module:function"``) in the worker. The checker is called
  as ``checker(program, **kwargs)`` where ``program`` is a
  :class:`~bench_runner_core.sandbox.remote.RemoteProgram`: calls to the
  program's functions cross a pipe, arguments and return values as plain data
  only. The checker raises ``AssertionError`` for a wrong answer; returning
  normally is the only way to pass.

Both take a ``prelude``: code run in the program's module before the program
(the implicit imports a benchmark's official harness gives every program). A
stdio job runs it once, before its cases, and every case starts from the state
it leaves, so it must not read stdin or write output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

GiB = 1 << 30
MiB = 1 << 20


@attrs.frozen(kw_only=True)
class Limits:
    """Per-execution limits. ``timeout_s`` is wall clock for the whole job."""

    timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    memory_bytes: int = 4 * GiB
    file_size_bytes: int = 64 * MiB
    max_processes: int = 64
    output_bytes: int = 1 * MiB


@attrs.frozen(kw_only=True)
class StdioCase:
    input: str
    expected: str


@attrs.frozen(kw_only=True)
class StdioJob:
    source: str
    cases: tuple[StdioCase, ...]
    compare: str
    prelude: str = ""
    case_timeout_s: float = 6.0
    stop_at_first_failure: bool = True
    limits: Limits = Limits()


@attrs.frozen(kw_only=True)
class CheckJob:
    source: str
    checker: str
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    prelude: str = ""
    limits: Limits = Limits()


Job = StdioJob | CheckJob
