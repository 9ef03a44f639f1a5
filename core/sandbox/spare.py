"""A program process forked and confined before its job arrives: what ``launcher.py`` hands each job."""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import socket
import time
from typing import Any

from bench_runner_core.sandbox import framing, plaindata, program
from bench_runner_core.sandbox.jobs import Limits

_run_numbers = itertools.count()


class Spare:
    """A program process forked and confined before its job arrives, waiting for its source.

    The worker orders the next spare as soon as a verdict is out, so the fork and
    the confinement overlap with the pool sending the next job.
    """

    def __init__(self, sock: socket.socket, base: dict[str, Any], limits: Limits) -> None:
        self.limits = limits
        self.pidfd = -1
        # the root is this worker's own (a private tmpfs when possible): a counter names dirs uniquely
        self.tmpdir = f"{base['sandbox_root']}/run-{next(_run_numbers)}"
        os.mkdir(self.tmpdir, 0o700)  # exactly: the worker's umask is 077
        if base["uid"] is not None:
            os.chown(self.tmpdir, base["uid"], base["uid"])
        self.status, status_w = os.pipe()
        self.out, out_w = os.pipe()
        self.err, err_w = os.pipe()
        req_r, self.requests = os.pipe()
        self.replies, rep_w = os.pipe()
        # the job goes down it; for a stdio job then each case's stdio, and its wait status comes back
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stdin = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        child_fds = [status_w, stdin, out_w, err_w, req_r, rep_w, theirs.detach()]
        # the zygote knows everything else, the same for every execution
        request = (self.tmpdir, base["uid"], rlimits(limits))
        try:
            socket.send_fds(sock, [pickle.dumps(request)], child_fds)
        finally:
            for fd in child_fds:
                os.close(fd)
        self._received = False
        self.ready = False

    def receive(self, sock: socket.socket) -> None:
        """Collect the zygote's answer: the program's pidfd (none if the fork failed)."""
        if not self._received:
            _msg, pidfds, _flags, _addr = socket.recv_fds(sock, 16, 1)
            self.pidfd = pidfds[0] if pidfds else -1
            self._received = True

    def start(self, mode: str, prelude: str, source: str, deadline: float) -> None:
        """Send the job once the process says it is confined (``ready``); a process that never does failed setup."""
        try:
            self.control.settimeout(max(deadline - time.monotonic(), 0.001))
            self.ready = self.control.recv(1) == program.READY
            self.control.settimeout(None)
        except OSError:  # (a timeout too)
            self.ready = False
        if self.ready:
            body = plaindata.encode((mode, prelude, source))
            with contextlib.suppress(OSError):  # it died waiting: its status tells why
                self.control.sendall(framing.frame(body))
        if mode == "check" or not self.ready:  # a stdio job's cases follow on the same socket
            self.control.close()


def rlimits(limits: Limits) -> tuple[int, int, int, int]:
    """The limits the zygote sets on a program: a spare made for other limits is not used."""
    return (limits.memory_bytes, limits.file_size_bytes, limits.cpu_seconds, limits.max_processes)
