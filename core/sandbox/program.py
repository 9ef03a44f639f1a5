"""A sandboxed program's own side: it confines itself, says it is ready, then runs its job.

Forked by the zygote (``zygote.py``) as PID 1 of a fresh PID namespace, the
process takes a new IPC namespace and session, its fds, rlimits, temp dir,
Landlock domain and uid, then sends ``READY``: a process that dies before that
failed the sandbox's setup, one that dies after failed on its own. Then it
reads its job on fd 5 and runs it: a check job's calls over fds 3 and 4
(``server.py``), or a stdio job's cases. A stdio job's process forks again per
test case (``_serve_cases``): setting up and confining an execution costs more
than a fork, and a job has several cases.

Nothing here is relied on once the program runs: a program may patch or
replace any of it.
"""

from __future__ import annotations

import _signal
import atexit
import builtins
import contextlib
import fcntl
import os
import resource
import signal
import socket
import struct
import sys
import traceback
import types

from bench_runner_core.sandbox import framing, kernel, plaindata, server

STATUS_EXIT = b"x"
#: a program process sends this on its control socket once it is confined, before any of its job runs:
#: a process that dies without it failed in the sandbox's setup, and one that sent it failed on its own
READY = b"r"
_STATUS = struct.Struct("<ci")
SETUP_FAILED = 71
#: modules that would make every fork slower if the zygote loaded them (threading runs an at-fork
#: hook in each child), imported by a stdio job's process before its cases when its program uses them
WARM_ON_DEMAND = ("threading",)


def status_records(data: bytes) -> list[tuple[bytes, int]]:
    return [_STATUS.unpack_from(data, i) for i in range(0, len(data) - len(data) % _STATUS.size, _STATUS.size)]


def exit_record(status: int) -> bytes:
    """A wait status as it goes on a status pipe or a job's control socket."""
    return _STATUS.pack(STATUS_EXIT, status)


def _arrange_fds(fds: list[int], ruleset: int) -> int:
    """Make fds[1:] the program's 0-2 (stdio), 3-4 (calls) and 5 (its job), keep the ruleset, close the rest.

    Returns the ruleset's new fd (-1 without one).
    """
    keep = fds[1:] + ([ruleset] if ruleset >= 0 else [])
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in keep]
    for target, fd in enumerate(moved):
        os.dup2(fd, target)
    os.closerange(len(moved), 1 << 20)
    return len(moved) - 1 if ruleset >= 0 else -1


def _confine(tmpdir: str, uid: int | None, limits: tuple[int, int, int, int], settings: dict, ruleset: int) -> None:
    memory, file_size, cpu, processes = limits
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, file_size),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))
    if settings["nproc"]:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    if settings["proc_fd"] < 0:
        oom = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(oom, b"1000")  # the OOM killer takes the program, never the zygote
        os.close(oom)
    os.chdir(tmpdir)
    if ruleset >= 0:
        kernel.landlock_restrict_self(ruleset)  # no_new_privs is inherited from the zygote
        os.close(ruleset)
    if uid is not None:
        os.setgroups([])
        kernel.prctl(kernel.PR_SET_KEEPCAPS, 1)
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if uid is not None or settings["drop_capabilities"]:
        kernel.capset(settings["capabilities"])


def _await_job() -> tuple[str, str, str]:
    """Block until the worker hands over (mode, prelude, source) on fd 5; EOF means this spare is not needed."""
    try:
        mode, prelude, source = plaindata.decode(framing.receive(5))
    except EOFError:
        os._exit(0)
    return mode, prelude, source


def run(request: tuple, fds: list[int]) -> None:
    """Confine this fresh fork of the zygote, then run the job the worker sends (never returns)."""
    tmpdir, uid, limits, settings = request
    try:
        if settings["ipc_namespace"]:  # System V IPC objects of its own, gone with it
            kernel.unshare(kernel.CLONE_NEWIPC)
        os.setsid()
        ruleset = _arrange_fds(fds, settings["ruleset"])
        _confine(tmpdir, uid, limits, settings, ruleset)
        _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)  # the C function: no enum wrapping of the old handler
        kernel.prctl(kernel.PR_SET_DUMPABLE, 0)  # a stdio job's case can neither ptrace it nor take its fds
        # sys.stdin/stdout/stderr stay the interpreter's own objects: they are bound to fds
        # 0-2 (now the program's), and the zygote never read or wrote through them
        os.write(5, READY)
    except BaseException:
        os.write(2, b"sandbox setup failed: " + traceback.format_exc().encode(errors="replace"))
        os._exit(SETUP_FAILED)
    mode, prelude, source = _await_job()
    module = types.ModuleType("__main__" if mode == "stdio" else "program")
    module.__dict__["__builtins__"] = builtins
    sys.modules[module.__name__] = module
    try:
        exec(compile(prelude, "<prelude>", "exec"), module.__dict__)
        code: types.CodeType | None = compile(source, "<program>", "exec")
        failure = b""
    except BaseException as exc:
        code = None
        failure = traceback.format_exc(limit=0 if isinstance(exc, SyntaxError) else None).encode(errors="replace")
        if mode == "check":
            server.send(server.raised(exc))
    if mode == "stdio":
        if code is not None:
            _warm_imports(code)
        _serve_cases(module, code, failure, uid is not None, settings["ipc_namespace"])
    try:
        os.close(5)
        if code is None:
            os.write(2, failure)
            os._exit(1)
        server.serve(code, module)
    finally:
        os._exit(1)


def _warm_imports(code: types.CodeType) -> None:
    """Import, once for all cases, the modules of ``WARM_ON_DEMAND`` that the program names."""
    names = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    for name in WARM_ON_DEMAND:
        if name in names:
            with contextlib.suppress(Exception):
                __import__(name)


def _serve_cases(
    module: types.ModuleType, code: types.CodeType | None, failure: bytes, own_uid: bool, own_ipc: bool
) -> None:
    """Run each test case the worker sends in a fresh fork of this confined process; report how it ended.

    The job's setup (the fork from the zygote, the confinement, the prelude,
    compiling the program) is done once; a case costs a fork. A case arrives on
    fd 5 as its own stdin, stdout and stderr. Once the case's process has exited,
    everything it started is killed and reaped, so every case starts alone; then
    its wait status goes back on fd 5. The last case runs in this process itself:
    its exit ends the job, and the zygote reports its status. EOF on fd 5 ends
    the job too.
    """
    control = socket.socket(fileno=5)
    # a case sending SIGINT to this process must not end the job (its cases get Python's handler back)
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    # as PID 1 of its namespace, or with a uid of its own, kill(-1) reaches only this program's processes
    sweep_all = os.getpid() == 1 or own_uid
    while True:
        try:
            kind, fds, _flags, _addr = socket.recv_fds(control, 1, 3)
        except OSError:
            fds = []
        if len(fds) != 3:  # the worker is done
            os._exit(0)
        if kind == b"l":
            _case(fds, module, code, failure, forked=False)
        pid = os.fork()
        if pid == 0:
            _case(fds, module, code, failure, forked=True)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        _sweep(pid, sweep_all)
        if own_ipc:  # the System V IPC objects the case left in the execution's own namespace
            with contextlib.suppress(Exception):
                kernel.remove_sysv_ipc()
        control.sendall(exit_record(status))


def _case(
    fds: list[int], module: types.ModuleType, code: types.CodeType | None, failure: bytes, *, forked: bool
) -> None:
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 1 << 20)
        if forked:  # its own session, like the job's process
            os.setsid()
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
        if code is None:
            os.write(2, failure)
            os._exit(1)
        _run_main(code, module)
    finally:
        os._exit(1)


def _sweep(pid: int, sweep_all: bool) -> None:
    """Kill whatever a finished case left running, and reap it."""
    with contextlib.suppress(OSError):
        if sweep_all:
            os.kill(-1, signal.SIGKILL)  # the caller itself is spared
        else:
            os.killpg(pid, signal.SIGKILL)
    while True:
        try:
            if os.waitpid(-1, 0 if sweep_all else os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _run_main(code: types.CodeType, module: types.ModuleType) -> None:
    """Run the program like ``python program.py``: then wait for its threads, run atexit, flush."""
    sys.argv = ["program"]
    status = 0
    try:
        exec(code, module.__dict__)
        # what the interpreter does at exit (threading is not preloaded: it makes every fork slower)
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        atexit._run_exitfuncs()
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        status = status or 1
    os._exit(status & 0xFF)
