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
    """Per-execution limits; every time limit of the sandbox is one of these.

    * ``timeout_s``: wall clock for the whole job; at the deadline the worker
      kills the execution's PID namespace.
    * ``test_timeout_s``: wall clock for one test: a stdio case, or a call into
      the program (a checker may ask for less per call). None: the job's only.
    * :attr:`cpu_seconds`: RLIMIT_CPU, a backstop behind the wall clock.
    * ``kill_grace_s``: how long, after a kill, the worker waits for every
      process of an execution to be gone (and for what a dead program wrote).
    * ``pool_grace_s``: how long past ``timeout_s`` the pool waits for a
      worker's verdict before it takes the worker for dead and replaces it.
    """

    timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    test_timeout_s: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0))
    )
    memory_bytes: int = 4 * GiB
    file_size_bytes: int = 64 * MiB
    max_processes: int = 64
    output_bytes: int = 1 * MiB
    kill_grace_s: float = 10.0
    pool_grace_s: float = 30.0

    @property
    def cpu_seconds(self) -> int:
        """The wall clock is the real limit; CPU time only backs it up.

        Not tied to each job's timeout, so that a program forked ahead for one
        job (a spare) fits the next: timeouts vary per problem.
        """
        return max(int(self.timeout_s) + 2, 60)

    def test_deadline(self, now: float, job_deadline: float) -> float:
        """When the test started at ``now`` must end."""
        if self.test_timeout_s is None:
            return job_deadline
        return min(job_deadline, now + self.test_timeout_s)


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
