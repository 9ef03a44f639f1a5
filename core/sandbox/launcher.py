"""Programs ready before their jobs: the worker orders the next confined process while the pool sends the next job."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from bench_runner_core.sandbox import cgroup
from bench_runner_core.sandbox.execution import Execution
from bench_runner_core.sandbox.jobs import Limits
from bench_runner_core.sandbox.spare import Spare, rlimits


class Launcher:
    """Hands each job a ready spare (when its limits match) and orders the next one."""

    def __init__(self, sock: socket.socket, base: dict[str, Any]) -> None:
        self._sock = sock
        self._base = base
        self._next: Spare | None = None
        self._retired: list[Execution] = []
        self._counter = 0
        self._oom = cgroup.OomKills(base.get("memory_cgroup"))
        self._oom_kills = self._oom.count()

    def oom_killed(self) -> bool:
        """Whether the OOM killer struck in the worker's memory cgroup since the last call."""
        count = self._oom.count()
        struck, self._oom_kills = count > self._oom_kills, count
        return struck

    def launch(self, *, mode: str, prelude: str, source: str, limits: Limits, deadline: float) -> Execution:
        spare, self._next = self._next, None
        if spare is not None:
            spare.receive(self._sock)
            if rlimits(spare.limits) != rlimits(limits) or spare.pidfd < 0:
                Execution(spare, deadline=time.monotonic()).close()
                spare = None
        if spare is None:
            spare = self._spare(limits)
            spare.receive(self._sock)
        execution = Execution(spare, deadline=deadline)
        execution.limits = limits
        execution.output_cap = limits.output_bytes
        if mode != "check":
            execution.drop_call_pipes()
        if spare.pidfd >= 0:
            spare.start(mode, prelude, source, deadline)
        return execution

    def prepare(self, limits: Limits) -> None:
        """Order the next job's spare: called once a verdict is out, while the pool sends the next job."""
        if self._next is None:
            with contextlib.suppress(OSError):  # no zygote: the worker is retiring anyway
                self._next = self._spare(limits)

    def _spare(self, limits: Limits) -> Spare:
        # consecutive programs alternate between two uids: without a PID namespace, the zygote
        # kills a finished program's leftovers by uid, which must spare the next program
        self._counter += 1
        uid = self._base["uid"]
        base = self._base if uid is None else dict(self._base, uid=uid + (self._counter & 1))
        return Spare(self._sock, base, limits)

    def retire(self, execution: Execution) -> None:
        """Kill the execution now; wait for its end and clean up in :meth:`finish_retired`."""
        execution.kill()
        self._retired.append(execution)

    def finish_retired(self) -> None:
        """Called once the verdict is out: the namespace teardown is off the grading path."""
        while self._retired:
            self._retired.pop().close()

    def close(self) -> None:
        self.finish_retired()
        if self._next is not None:
            self._next.receive(self._sock)
            Execution(self._next, deadline=time.monotonic()).close()
            self._next = None
        self._oom.close()
