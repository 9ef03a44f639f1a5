"""A memory and a CPU cgroup per worker: ceilings for everything its programs do, together.

RLIMIT_AS bounds one process; a program that forks could still use
``max_processes`` times that. CPU affinity is a hint a program can undo
(``sched_setaffinity`` on every CPU after ``setsid``). When the kernel lets us
(root, or a delegated cgroup v2 subtree), each worker gets child cgroups that
its zygote, and so every program, belongs to: ``memory`` caps what they
allocate, ``cpu`` caps them at one CPU's worth of time, however many processes
they start, so a spinner never slows another worker's program. A worker runs
one program at a time, so the groups bound each execution. Programs volunteer
as the OOM killer's first victims, so the zygote survives a program that fills
the group. A group a killed worker could not remove goes when the next
worker makes its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

from bench_runner_core.sandbox import cleanup

_ROOT = "/sys/fs/cgroup"
#: controller -> (cgroup v1 file, cgroup v2 file) of its limit
_LIMIT_FILES = {"memory": ("memory.limit_in_bytes", "memory.max"), "cpu": ("cpu.cfs_quota_us", "cpu.max")}
CPU_PERIOD_US = 100_000
# A group competes with the host's tasks as one task would: weighted as several, its processes (a
# fork bomb being torn down, a program and its helper threads) still get their turn on a busy
# machine, up to the one-CPU cap.
WEIGHT_OF_TASKS = 8


def _own_path(controller: str | None) -> str | None:
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _id, controllers, path = line.rstrip("\n").split(":", 2)
            if (controller is None and controllers == "") or (controller and controller in controllers.split(",")):
                return path
    return None


def _v1_mount(controller: str) -> str | None:
    for name in os.listdir(_ROOT) if os.path.isdir(_ROOT) else ():
        if controller in name.split(",") and os.path.isdir(f"{_ROOT}/{name}"):
            return f"{_ROOT}/{name}"
    return None


def create(controller: str, limit: int) -> str | None:
    """Make this worker's cgroup of ``controller`` with its limit; its directory, or None where not allowed.

    ``limit`` is bytes for memory, and CPUs (as a quota of ``CPU_PERIOD_US``) for cpu.
    """
    name = f"bench-sbx-{os.getpid()}-{controller}"
    v1_file, v2_file = _LIMIT_FILES[controller]
    attempts = []
    mount = _v1_mount(controller)
    if mount is not None:
        attempts.append((mount, _own_path(controller), v1_file))
    if os.path.exists(f"{_ROOT}/cgroup.controllers"):
        attempts.append((_ROOT, _own_path(None), v2_file))
    for root, path, limit_file in attempts:
        if path is None:
            continue
        parent = f"{root}{path.rstrip('/')}"
        for stale in cleanup.left_by_dead_workers(parent, re.compile(rf"bench-sbx-(\d+)-{controller}")):
            remove(stale, within_s=1.0)  # and any program of a dead worker still in it
        group = f"{parent}/{name}"
        try:
            os.mkdir(group)
        except OSError:
            continue
        try:
            if controller == "cpu":
                quota = limit * CPU_PERIOD_US
                if limit_file == "cpu.max":
                    _write(group, limit_file, f"{quota} {CPU_PERIOD_US}")
                    _write(group, "cpu.weight", str(100 * WEIGHT_OF_TASKS))
                else:
                    _write(group, "cpu.cfs_period_us", str(CPU_PERIOD_US))
                    _write(group, limit_file, str(quota))
                    _write(group, "cpu.shares", str(1024 * WEIGHT_OF_TASKS))
            else:
                _write(group, limit_file, str(limit))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(group)
    return None


def _write(group: str, name: str, value: str) -> None:
    with open(f"{group}/{name}", "w") as handle:
        handle.write(value)


def join(group: str) -> None:
    """Move the calling process (the zygote) into the group; its children are born there."""
    _write(group, "cgroup.procs", "0")


class OomKills:
    """Counts the OOM killer's kills in the group; the file stays open, read once per job."""

    def __init__(self, group: str | None) -> None:
        self._fd = -1
        for name in ("memory.oom_control", "memory.events"):
            if group is not None and self._fd < 0:
                with contextlib.suppress(OSError):
                    self._fd = os.open(f"{group}/{name}", os.O_RDONLY | os.O_CLOEXEC)

    def count(self) -> int:
        if self._fd < 0:
            return 0
        try:
            text = os.pread(self._fd, 4096, 0)
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(b" ")
            if key == b"oom_kill":
                return int(value)
        return 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def remove(group: str | None, within_s: float = 5.0) -> bool:
    """Kill what is still in the group and remove it; False if it could not be removed in time.

    A killed worker's zygote and programs take a moment to die: until then the
    group is busy, and a plain rmdir would leave it behind.
    """
    if group is None:
        return True
    end = time.monotonic() + within_s
    while True:
        try:
            os.rmdir(group)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > end:
                return False
        try:
            with open(f"{group}/cgroup.procs") as handle:
                pids = [int(line) for line in handle if line.strip()]
        except OSError:
            pids = []
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
