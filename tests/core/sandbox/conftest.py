"""Shared fixtures for the sandbox tests: one pool per module, and a look at what processes are left."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench_runner_core.sandbox.jobs import CheckJob, Limits
from bench_runner_core.sandbox.pool import SandboxPool

SELFTEST = "bench_runner_core.sandbox.selftest"
SANDBOX_UID_BASE = 1_500_000_000  # worker.py: programs run as this + 2 * worker pid (+ 1) when root
GOOD_ADD = CheckJob(source="def add(a, b):\n    return a + b\n", checker=f"{SELFTEST}:check_add")


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(workers=2, limits=Limits(timeout_s=5)) as sandbox:
        yield sandbox


def _stat(pid: str) -> tuple[int, int] | None:
    """(ppid, uid) of a process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        return ppid, os.stat(f"/proc/{pid}").st_uid
    except (OSError, ValueError, IndexError):
        return None


def _is_waiting_spare(pid: int) -> bool:
    """A spare: forked ahead of the next job and blocked reading its job from fd 5 (no program has run in it)."""
    try:
        with open(f"/proc/{pid}/syscall") as handle:
            return handle.read().startswith("0 0x5 ")
    except OSError:
        return False


def sandbox_processes(pool: SandboxPool) -> list[int]:
    """Processes left over by programs: below this pool's zygotes, or running as one of its sandbox uids.

    (Other pools may be grading on this machine at the same time: their processes are not ours.)
    """
    table = {int(pid): info for pid in os.listdir("/proc") if pid.isdigit() and (info := _stat(pid))}
    workers = {worker.process.pid for worker in pool._all}
    uids = {SANDBOX_UID_BASE + 2 * pid + parity for pid in workers for parity in (0, 1)}
    zygotes = {pid for pid, (ppid, _uid) in table.items() if ppid in workers}
    left = []
    for pid, (ppid, uid) in table.items():
        if ppid in zygotes and _is_waiting_spare(pid):
            continue
        if uid in uids or ppid in zygotes:
            left.append(pid)
            continue
        # anything deeper below a worker than its zygote
        seen, parent = 0, ppid
        while parent in table and seen < 50:
            if parent in zygotes:
                left.append(pid)
                break
            parent, seen = table[parent][0], seen + 1
    return left


def no_sandbox_processes(pool: SandboxPool, within_s: float = 5.0) -> list[int]:
    """The leftovers once ``within_s`` has passed (a killed program's teardown takes a moment)."""
    deadline = time.monotonic() + within_s
    while (left := sandbox_processes(pool)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def contained(pool: SandboxPool) -> Iterator[SandboxPool]:
    """After the test: the pool still grades a correct program and no program process is left."""
    yield pool
    assert pool.run(GOOD_ADD).status == "passed"
    left = no_sandbox_processes(pool)
    assert left == [], [Path(f"/proc/{pid}/status").read_text()[:300] for pid in left]
