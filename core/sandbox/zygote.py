"""The zygote: a pre-warmed process that never sees test data and forks one sandbox per execution.

The worker forks the zygote before it reads its first job, so nothing a
program can find in its own memory (``gc.get_objects()``, a raw scan) holds the
expected answers of any job. The zygote is PID 1 of the worker's own PID
namespace (when the kernel allows), so if the worker dies, the zygote dies
(``PR_SET_PDEATHSIG``) and the kernel kills every sandbox with it.

Per execution the zygote re-enters its own namespace (``setns``), unshares a
fresh PID namespace and forks the program as that namespace's PID 1. It sends
the worker a pidfd (the handle that kills the whole namespace) and, once it
has reaped the program, its wait status on the status pipe, then closes it:
the kernel lets PID 1 be reaped only after every process of its namespace is
gone, so EOF on the status pipe means nothing of the execution is left.

A stdio job's program process forks again per test case (``_serve_cases``):
setting up and confining an execution costs more than a fork, and a job has
several cases.
"""

from __future__ import annotations

import _signal
import atexit
import builtins
import contextlib
import fcntl
import gc
import os
import pickle
import resource
import select
import signal
import socket
import struct
import sys
import traceback
import types

from bench_runner_core.sandbox import framing, fsroot, kernel, plaindata, server

STATUS_EXIT = b"x"
#: a program process sends this on its control socket once it is confined, before any of its job runs:
#: a process that dies without it failed in the sandbox's setup, and one that sent it failed on its own
READY = b"r"
_STATUS = struct.Struct("<ci")
SETUP_FAILED = 71
#: modules that would make every fork slower if the zygote loaded them (threading runs an at-fork
#: hook in each child), imported by a stdio job's process before its cases when its program uses them
WARM_ON_DEMAND = ("threading",)
_MAX_FDS = 8


def status_records(data: bytes) -> list[tuple[bytes, int]]:
    return [_STATUS.unpack_from(data, i) for i in range(0, len(data) - len(data) % _STATUS.size, _STATUS.size)]


def serve(sock: socket.socket, base: dict, landlock: tuple[int, list, str] | None) -> None:
    """Zygote main loop: one request per execution, until the worker goes away.

    Whatever is the same for every execution is done here once, inherited by each
    fork: the environment, no_new_privs, the Landlock ruleset, the capability sets.
    The less a program's setup runs after the fork, the fewer pages it copies.
    """
    kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("-1000")
    own_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY) if base["pid_namespace"] else -1
    facts, proc_fd = _enter_root(base)
    os.environ.clear()
    os.environ.update(base["env"])
    # tempfile is not loaded here: a program importing it picks its temp dir afresh (its cwd)
    settings = {
        "pid_namespace": base["pid_namespace"],
        "ipc_namespace": base["ipc_namespace"],
        "nproc": base["nproc"],
        "drop_capabilities": base["drop_capabilities"],
        "ruleset": _ruleset(landlock),
        # in the minimal root every allowed path is readable without CAP_DAC_READ_SEARCH
        "capabilities": kernel.capability_sets(base["capabilities"] if proc_fd < 0 else 0),
        "proc_fd": proc_fd,
    }
    facts["capabilities"] = "none" if proc_fd >= 0 or not base["capabilities"] else None
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)  # what Landlock and seccomp ask of an unprivileged process
    try:
        kernel.deny_keyrings()
        facts["keyrings"] = "add_key, request_key and keyctl fail (seccomp): no keyring is reachable"
    except OSError as exc:
        facts["keyrings"] = False
        facts["warnings"].append(f"keyrings reachable: seccomp filter refused ({exc})")
    sock.send(pickle.dumps(facts))
    server.warm_up()
    # forked programs then never traverse (and so never copy-on-write) the preloaded objects
    gc.collect()
    gc.freeze()
    # a program's pidfd turns readable when it exits: no SIGCHLD handler that each program must undo
    children: dict[int, tuple[int, int, int | None]] = {}  # pidfd -> (pid, status fd, uid)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        if any(fd != sock.fileno() for fd, _ in events):
            _reap(children, poller, settings["pid_namespace"])
        if not any(fd == sock.fileno() for fd, _ in events):
            continue
        try:
            raw, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, _MAX_FDS)
        except ConnectionError:
            raw = b""
        if not raw:  # the worker is gone
            os._exit(0)
        tmpdir, uid, limits = pickle.loads(raw)
        pid = _spawn(sock, fds, own_namespace, (tmpdir, uid, limits, settings))
        if pid < 0:
            sock.send(b"!")
            os.close(fds[0])
        else:
            pidfd = os.pidfd_open(pid)
            socket.send_fds(sock, [b"p"], [pidfd])
            children[pidfd] = (pid, fds[0], uid)
            poller.register(pidfd, select.POLLIN)
        for fd in fds[1:]:
            os.close(fd)


def _enter_root(base: dict) -> tuple[dict, int]:
    """Pivot into the minimal root (what programs may read, and nothing else); the facts for the summary."""
    facts: dict = {"warnings": []}
    old_umask = os.umask(0o022)
    try:
        proc_fd = fsroot.enter_minimal_root(base["allow_list"], base["sandbox_root"])
    except OSError as exc:
        facts["filesystem_root"] = False
        facts["warnings"].append(f"no minimal root (the host's files are hidden by Landlock alone, if any): {exc}")
        return facts, -1
    finally:
        os.umask(old_umask)
    facts["filesystem_root"] = (
        "a minimal root (mount namespace, pivot_root): read-only binds of the readable paths, "
        "4 devices and the temp root; no /proc, /sys, /run, /tmp or site-packages"
    )
    return facts, proc_fd


def _ruleset(landlock: tuple[int, list, str] | None) -> int:
    # built once: every execution's temp dir lives under the worker's sandbox root
    if not landlock:
        return -1
    abi, rules, root = landlock
    return kernel.landlock_ruleset(abi, [*rules, (root, kernel.fs_rights(abi))])


def _spawn(sock: socket.socket, fds: list[int], own_namespace: int, request: tuple) -> int:
    try:
        if own_namespace >= 0:
            kernel.setns(own_namespace, kernel.CLONE_NEWPID)
            kernel.unshare(kernel.CLONE_NEWPID)
        pid = os.fork()
    except OSError:
        traceback.print_exc()
        return -1
    proc_fd = request[3]["proc_fd"]
    if pid > 0 and proc_fd >= 0:
        try:  # the OOM killer takes the program, never the zygote
            fsroot.proc_write(proc_fd, f"{pid}/oom_score_adj", b"1000")
        except OSError:
            traceback.print_exc()
    if pid == 0:
        try:
            sock.detach()  # its fd, like every fd of the zygote's, is closed with the rest in _arrange_fds
            _program(request, fds)
        finally:
            os._exit(SETUP_FAILED)
    return pid


def _reap(children: dict[int, tuple[int, int, int | None]], poller: select.poll, pid_namespace: bool) -> None:
    exited = {pid: pidfd for pidfd, (pid, _fd, _uid) in children.items()}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in exited:
            pidfd = exited[pid]
            _pid, fd, uid = children.pop(pidfd)
            poller.unregister(pidfd)
            os.close(pidfd)
            if not pid_namespace and uid is not None:
                _kill_uid(uid)
            try:
                os.write(fd, _STATUS.pack(STATUS_EXIT, status))
            finally:
                os.close(fd)


def _kill_uid(uid: int) -> None:
    # Without a PID namespace, the unique sandbox uid finds the program's leftovers.
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


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


def _program(request: tuple, fds: list[int]) -> None:
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
        control.sendall(_STATUS.pack(STATUS_EXIT, status))


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
