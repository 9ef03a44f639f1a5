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

What the program does once forked is in ``program.py``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import socket
import traceback

from bench_runner_core.sandbox import fsroot, kernel, program, server

_MAX_FDS = 8


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
            program.run(request, fds)
        finally:
            os._exit(program.SETUP_FAILED)
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
                os.write(fd, program.exit_record(status))
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
