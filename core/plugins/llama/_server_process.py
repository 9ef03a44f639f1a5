"""A model server child process that is always stopped (see ``_server_guard.py`` for how)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog
import tenacity

from bench_runner_core.api import BadInput

log = structlog.get_logger()
GUARD = Path(__file__).with_name("_server_guard.py")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NotReady(Exception):
    pass


class _Exited(Exception):
    pass


class ServerProcess:
    """Starts ``command`` under the guard, logs to a temp file, and stops it on ``stop`` or at exit."""

    def __init__(self, command: list[str], *, name: str = "server") -> None:
        self.command = command
        self.name = name
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-runner-server-"))
        self.log_path = self.workdir / "server.log"
        self._guard: subprocess.Popen[bytes] | None = None
        self._pipe_w: int | None = None
        self.pid: int | None = None

    def start(self) -> None:
        read_end, self._pipe_w = os.pipe()
        pidfile = self.workdir / "server.pid"
        with open(self.log_path, "wb") as log_file:
            self._guard = subprocess.Popen(
                [sys.executable, str(GUARD), str(read_end), str(pidfile), "--", *self.command],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(read_end,),
                # Ctrl-C in the terminal reaches bench_runner, which stops the server in order
                start_new_session=True,
            )
        os.close(read_end)
        atexit.register(self.stop)
        deadline = time.monotonic() + 10
        while not pidfile.exists() and self._guard.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if pidfile.exists():
            self.pid = int(pidfile.read_text())

    def alive(self) -> bool:
        return self._guard is not None and self._guard.poll() is None

    def tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])

    def wait_ready(self, probe, timeout: float) -> None:  # type: ignore[no-untyped-def]
        """Call ``probe()`` until it returns true, the server exits, or ``timeout`` seconds pass."""

        def once() -> None:
            if not self.alive():
                raise _Exited()
            if not probe():
                raise _NotReady()

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(timeout),
            wait=tenacity.wait_exponential(multiplier=0.05, max=0.5),
            retry=tenacity.retry_if_exception_type(_NotReady),
            before_sleep=lambda state: log.debug("server_waiting", attempt=state.attempt_number),
            reraise=True,
        )
        try:
            retrying(once)
        except _Exited:
            code = self._guard.wait() if self._guard else None
            raise BadInput(
                f"the {self.name} exited during startup (code {code}): {self.tail() or 'no output'}",
                f"full log: {self.log_path}",
            ) from None
        except _NotReady:
            self.stop(keep_log=True)
            raise BadInput(
                f"the {self.name} was not ready after {timeout:g}s: {self.tail() or 'no output'}",
                f"raise --server-timeout; full log: {self.log_path}",
            ) from None

    def stop(self, keep_log: bool = False) -> None:
        """Stop the server and its guard; safe to call twice."""
        if self._pipe_w is not None:
            os.close(self._pipe_w)  # the guard sees EOF and stops the server's process group
            self._pipe_w = None
        guard, self._guard = self._guard, None
        if guard is not None:
            try:
                guard.wait(15)
            except subprocess.TimeoutExpired:
                for pid in (self.pid, guard.pid):
                    if pid:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(pid, signal.SIGKILL)
                guard.wait()
            log.info("server_stopped", server=self.name, code=guard.returncode)
            if not keep_log:
                shutil.rmtree(self.workdir, ignore_errors=True)
        atexit.unregister(self.stop)
