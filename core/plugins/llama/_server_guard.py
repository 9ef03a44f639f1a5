"""Keeps a model server from outliving bench_runner. Run as a script: ``_server_guard.py FD PIDFILE -- COMMAND...``.

bench_runner holds the write end of a pipe whose read end is ``FD``. However
bench_runner ends (normal exit, exception, Ctrl-C, SIGKILL) the kernel closes
that end, this guard reads EOF and stops the server's whole process group.
A pipe is used rather than PR_SET_PDEATHSIG on bench_runner's side because
the death signal follows the thread that spawned the child, not the process.
The guard itself is single-threaded, so the server does get PDEATHSIG from it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
GRACE_S = 5.0


def _die_with_guard() -> None:
    # not Linux (no prctl): the pipe alone has to do
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stop(child: subprocess.Popen[bytes]) -> int:
    """Stop the server's process group; 0 once it is gone (stopping it was the point)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            break
        try:
            child.wait(GRACE_S)
            break
        except subprocess.TimeoutExpired:
            continue
    child.wait()
    return 0


def main(argv: list[str]) -> int:
    fd, pidfile, command = int(argv[0]), argv[1], argv[3:]
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_guard)
    except OSError as exc:
        print(f"cannot start {command[0]}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return 127
    with open(pidfile + ".tmp", "w") as out:
        out.write(str(child.pid))
    os.replace(pidfile + ".tmp", pidfile)
    stop_requested = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    while True:
        code = child.poll()
        if code is not None:
            return code
        if stop_requested:
            return _stop(child)
        try:
            readable, _, _ = select.select([fd], [], [], 0.5)
        except InterruptedError:
            continue
        if readable and not os.read(fd, 1):
            return _stop(child)
        time.sleep(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
