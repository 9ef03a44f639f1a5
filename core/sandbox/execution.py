"""One sandboxed execution, seen from the trusted worker: pump its pipes, run its cases, kill, clean up.

Its process comes ready (``spare.py``) from the worker's ``launcher.py``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time
from typing import TYPE_CHECKING

from bench_runner_core.sandbox import cleanup, framing, program

if TYPE_CHECKING:
    from bench_runner_core.sandbox.spare import Spare

_READ = 1 << 16


class Case:
    """How one case of a stdio job ended: its output (up to the cap) and wait status."""

    def __init__(self) -> None:
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflow = False
        self.timed_out = False
        self.wait_status: int | None = None


def _keep(buf: bytearray, data: bytes, cap: int) -> bool:
    """Append what fits under ``cap``; True if some did not."""
    room = cap - len(buf)
    buf += data[: max(room, 0)]
    return len(data) > room


class Execution:
    """Pipes to one program and the pidfd of its namespace's PID 1 (the program), which kills all of it.

    A stdio job's program serves the job's cases (:meth:`run_case`) until it is retired.
    """

    def __init__(self, spare: Spare, *, deadline: float) -> None:
        self.spare = spare
        self.limits = spare.limits  # the job's own, once it has one (a spare's may differ in its timeouts)
        self.deadline = deadline
        self.output_cap = spare.limits.output_bytes
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.overflow = False
        self.wait_status: int | None = None
        self.pidfd = spare.pidfd
        self.tmpdir = spare.tmpdir
        self.killed = False
        self.replies_closed = False
        self.status, self.out, self.err = spare.status, spare.out, spare.err
        self.requests, self.replies = spare.requests, spare.replies
        self._open = {self.status, self.out, self.err}
        self._status_buf = b""
        self.reply_buffer = bytearray()
        self._poll = select.poll()
        for fd in (*self._open, self.requests, self.replies):
            os.set_blocking(fd, False)
        for fd in (*self._open, self.replies):
            self._poll.register(fd, select.POLLIN)
        self._writing = False

    def drop_call_pipes(self) -> None:
        """A script has no calls to answer: whatever it writes to fd 4 goes nowhere."""
        self._poll.unregister(self.replies)
        for fd in (self.requests, self.replies):
            os.close(fd)
        self.requests = self.replies = -1
        self.replies_closed = True

    def remaining(self, deadline: float | None = None) -> float:
        return min(self.deadline, deadline or self.deadline) - time.monotonic()

    @property
    def finished(self) -> bool:
        return not self._open

    def pump(self, timeout: float, *, write: bytes = b"") -> bytes:
        """Wait up to ``timeout`` for something to happen; write what it can of ``write``, return the rest.

        Output goes to ``stdout``/``stderr`` (up to the cap), replies to ``reply_buffer``.
        """
        if write:
            try:  # a request usually fits in the pipe at once
                write = write[os.write(self.requests, write) :]
            except BlockingIOError:
                pass
            except BrokenPipeError:
                write = b""
            if not write and self._writing:
                self._poll.modify(self.requests, 0)
            elif write and not self._writing:
                self._poll.register(self.requests, select.POLLOUT)
            self._writing = bool(write)
            if not write and self.reply_buffer:
                return write
        try:
            events = self._poll.poll(max(int(timeout * 1000) + 1, 0))
        except InterruptedError:
            return write
        for fd, _event in events:
            if fd == self.replies:
                self._read_replies()
            elif fd != self.requests:
                self._read(fd)
        return write

    def _read_replies(self) -> None:
        try:
            data = os.read(self.replies, _READ)
        except BlockingIOError:
            return
        if data:
            self.reply_buffer += data
        else:
            self.replies_closed = True
            self._poll.unregister(self.replies)

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ)
        except BlockingIOError:
            return
        if not data:
            self._open.discard(fd)
            self._poll.unregister(fd)
            if fd == self.status:
                self._parse_status()
            return
        if fd == self.status:
            self._status_buf += data
            self._parse_status()
            return
        buf = self.stdout if fd == self.out else self.stderr
        self.overflow |= _keep(buf, data, self.output_cap)

    def _parse_status(self) -> None:
        for tag, value in program.status_records(self._status_buf):
            if tag == program.STATUS_EXIT:
                self.wait_status = value

    @property
    def alive(self) -> bool:
        """Whether its program can still run cases (nothing killed it, it has not exited)."""
        return self.pidfd >= 0 and not self.killed and self.status in self._open

    def run_case(self, stdin: bytes, *, deadline: float, output_cap: int, last: bool) -> Case:
        """Have a stdio job's program run one case; kill the whole execution at ``deadline``.

        The ``last`` case runs in the program's process itself (no fork), which then ends.
        """
        case = Case()
        memfd = os.memfd_create("stdin", os.MFD_CLOEXEC)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            framing.write_all(memfd, stdin)
            os.lseek(memfd, 0, os.SEEK_SET)  # the program's fd 0 shares this offset
            socket.send_fds(self.spare.control, [b"l" if last else b"c"], [memfd, out_w, err_w])
        except OSError:
            pass  # its program is gone: the status pipe tells why
        finally:
            for fd in (memfd, out_w, err_w):
                os.close(fd)
        streams = {out_r: case.stdout, err_r: case.stderr}
        control = self.spare.control.fileno()
        poll = select.poll()
        for fd in (out_r, err_r, control, *(self._open - {self.out})):
            poll.register(fd, select.POLLIN)
        status = b""
        try:
            # until the case's output is complete and its status is in, or its program is gone
            while streams or (case.wait_status is None and self.status in self._open):
                left = deadline - time.monotonic()
                if left <= 0 and not self.killed:
                    case.timed_out = True
                    self.kill()
                elif case.overflow and not self.killed:
                    self.kill()
                elif self.killed and left < -self.limits.kill_grace_s:
                    break  # (no PID namespace) something it left holds the pipes
                for fd, _event in poll.poll(max(int(left * 1000) + 1, 1) if not self.killed else 100):
                    if fd in streams:
                        data = os.read(fd, _READ)
                        if data:
                            case.overflow |= _keep(streams[fd], data, output_cap)
                        else:
                            poll.unregister(fd)
                            del streams[fd]
                    elif fd == control:
                        data = b""
                        with contextlib.suppress(OSError):
                            data = os.read(control, _READ)
                        status += data
                        for _tag, value in program.status_records(status):
                            case.wait_status = value
                        if not data:
                            poll.unregister(control)
                    else:
                        self._read(fd)
                        if fd not in self._open:
                            poll.unregister(fd)
        finally:
            for fd in (out_r, err_r):
                os.close(fd)
        if case.wait_status is None:  # it ended during the case (the last one, or it died): the case's end
            case.wait_status = self.wait_status
            case.stderr += self.stderr
        return case

    def clear_tmpdir(self) -> None:
        """Empty the temp dir between two cases (its program's processes are all gone)."""
        cleanup.empty(self.tmpdir)

    def wait_started(self) -> bool:
        """Whether the zygote started the program."""
        return self.pidfd >= 0

    def drain(self) -> None:
        """Collect what its process wrote until it is gone (a process that died a moment ago)."""
        end = time.monotonic() + self.limits.kill_grace_s
        while not self.finished and time.monotonic() < end:
            self.pump(0.5)

    @property
    def setup_failed(self) -> bool:
        """Whether its process ended (or hung) before it was confined: the sandbox's failure, not the program's."""
        return not self.spare.ready

    def kill(self) -> None:
        """Kill the program's PID namespace (the program is its PID 1), so every process in it."""
        if self.pidfd >= 0 and not self.killed and self.status in self._open:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        self.killed = True

    def close(self) -> None:
        """Kill what is left, wait until the namespace is empty, remove the temp dir."""
        self.kill()
        if self.status in self._open:
            self._await_status_eof(time.monotonic() + self.limits.kill_grace_s)
        for fd in (
            self.status,
            self.out,
            self.err,
            self.requests,
            self.replies,
            self.pidfd,
        ):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.spare.control.close()
        self._open.clear()
        cleanup.remove(self.tmpdir)

    def _await_status_eof(self, end: float) -> None:
        # Its output no longer matters (the verdict is out): wait on the status pipe alone.
        waiter = select.poll()
        waiter.register(self.status, select.POLLIN)
        while (left := end - time.monotonic()) > 0:
            if waiter.poll(int(left * 1000) + 1):
                try:
                    data = os.read(self.status, _READ)
                except BlockingIOError:
                    continue
                if not data:
                    break
                self._status_buf += data
        self._parse_status()
