"""A sandbox worker process: ``python -m bench_runner_core.sandbox.worker JOB_FD RESULT_FD``.

Started by :class:`~bench_runner_core.sandbox.pool.SandboxPool` with an
allow-listed environment. At start it leaves the network (its own network
namespace, shared by every program it runs), probes which protections the
kernel grants, pre-imports what programs commonly use, forks the zygote and
says hello. Then it grades one job at a time: pickled jobs in, pickled
verdicts out (the pool is trusted; programs never see these pipes).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import socket
import sys
from typing import Any

# Only light modules before the zygote forks: every module loaded here makes each
# per-execution fork slower (logging, attrs and structlog cost most), so the
# records, pickle and the grading code are imported after the fork. Not even
# tempfile: it imports shutil, which loads zlib, bz2 and lzma (30 more mappings
# for every fork to copy and every program to unmap).
from bench_runner_core.sandbox import cgroup, cleanup, framing, fsroot, kernel, zygote

_PRELOAD_NAMES = (
    "string re datetime collections heapq bisect copy math random statistics itertools functools operator io "
    "sys json typing time decimal fractions array dataclasses enum struct traceback types abc numbers textwrap "
    "unicodedata hashlib"
)
PRELOAD = tuple(_PRELOAD_NAMES.split())
SANDBOX_UID_BASE = 1_500_000_000
#: the longest verdict detail a worker returns
MAX_DETAIL = 4000
_ROOT_NAME = re.compile(r"bench-sbx-(\d+)-[0-9a-f]{12}")
CHILD_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED")


def _leave_network() -> tuple[bool, bool, str]:
    """(network namespace, user namespace, why not) for this worker and everything it forks."""
    if os.geteuid() == 0:
        try:
            kernel.unshare(kernel.CLONE_NEWNET)
            return True, False, ""
        except OSError as exc:
            return False, False, f"unshare(CLONE_NEWNET): {exc}"
    uid, gid = os.geteuid(), os.getegid()
    try:
        kernel.unshare(kernel.CLONE_NEWUSER | kernel.CLONE_NEWNET)
    except OSError as exc:
        return False, False, f"unshare(CLONE_NEWUSER|CLONE_NEWNET): {exc}"
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    return True, True, ""


def _forks_ok(action: Any) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            action()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return status == 0


def _pid_namespace_probe() -> None:
    kernel.unshare(kernel.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise OSError("not PID 1")


def _new_session_keyring() -> str:
    try:
        kernel.new_session_keyring()
    except OSError:
        return ""
    return "a new empty session keyring per worker (the user's is not inherited)"


def probe() -> tuple[dict[str, Any], dict[str, Any]]:
    """What the kernel grants here: (the spawn settings, the protections to report)."""
    network, userns, why_network = _leave_network()
    root = os.geteuid() == 0
    pid_ns = _forks_ok(_pid_namespace_probe)
    ipc_ns = _forks_ok(lambda: kernel.unshare(kernel.CLONE_NEWIPC))
    keyring = _new_session_keyring()
    allowed = fsroot.allow_list()
    abi = kernel.landlock_abi()
    rules = fsroot.landlock_rules(allowed) if abi else []
    if abi and not _forks_ok(lambda: kernel.landlock_restrict(abi, rules)):
        abi, rules = 0, []
    # a uid of our own (unused by anyone) makes RLIMIT_NPROC count only this worker's programs
    uid = SANDBOX_UID_BASE + 2 * os.getpid() if root else None  # and the next one (launcher.Launcher)
    # the interpreter may live under a 0700 home (pyenv under /root): with Landlock limiting
    # reads to the interpreter's dirs, the dropped uid keeps only the right to read those
    capabilities = 1 << kernel.CAP_DAC_READ_SEARCH if (root and abi) else 0
    base = {
        "pid_namespace": pid_ns,
        "ipc_namespace": ipc_ns,
        "allow_list": allowed,
        "landlock_abi": abi,
        "landlock_rules": rules,
        "uid": uid,
        "nproc": root or userns,
        "drop_capabilities": userns,
        "capabilities": capabilities,
        "env": {key: os.environ[key] for key in CHILD_ENV_KEYS if key in os.environ},
    }
    protections = {
        "network_namespace": network,
        "pid_namespace": pid_ns,
        "user_namespace": userns,
        "ipc_namespace": "a new one per execution; a stdio job's process removes its cases' objects"
        if ipc_ns
        else False,
        "session_keyring": keyring or False,
        "landlock_abi": abi,
        "landlock_scoped_signals": abi >= 6,
        "readable": [path + "".join(f" (not {name}/)" for name in excluded) for path, excluded in allowed],
        "sandbox_uid": "unique per worker" if uid is not None else "same as the user",
        "capabilities": "CAP_DAC_READ_SEARCH (reads limited by Landlock)" if capabilities else "none",
        "rlimit_nproc": root or userns,
        "env_allowlist": [*CHILD_ENV_KEYS, "HOME=tmpdir", "TMPDIR=tmpdir"],
        "zygote_without_test_data": True,
        "warnings": [
            w
            for w in (
                why_network,
                "" if pid_ns else "no PID namespace",
                "" if ipc_ns else "no IPC namespace: System V IPC objects are shared with the host",
                "" if keyring else "the user's session keyring is inherited",
            )
            if w
        ],
    }
    return base, protections


def _private_tmpfs(root: str, size: int) -> str | None:
    """Mount a size-limited tmpfs on ``root``, seen only by this worker and its programs.

    Bounds what programs can write in total, and keeps temp dir churn off the
    disk (creating and removing a dir on an ext4 /tmp costs milliseconds).
    """
    try:
        kernel.unshare(kernel.CLONE_NEWNS)
        kernel.mount("none", "/", None, kernel.MS_REC | kernel.MS_PRIVATE)  # nothing propagates to the host
        kernel.mount("bench-sbx", root, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, f"size={size},mode=0711")
    except OSError:
        return None
    return f"tmpfs, {size} bytes, private to the worker"


def _make_root() -> str:
    """A new 0700 dir in the first writable of the usual temp dirs (what tempfile.mkdtemp would pick).

    Its name holds this worker's pid: what a worker killed outright left there goes now.
    """
    error: OSError | None = None
    for parent in (os.environ.get("TMPDIR"), "/tmp", "/var/tmp", "/usr/tmp"):
        if not parent:
            continue
        for stale in cleanup.left_by_dead_workers(parent, _ROOT_NAME):
            cleanup.remove(stale)
        for _ in range(10):
            path = os.path.join(parent, f"bench-sbx-{os.getpid()}-{os.urandom(6).hex()}")
            try:
                os.mkdir(path, 0o700)
                return path
            except FileExistsError:
                continue
            except OSError as exc:
                error = exc
                break
    raise error or FileExistsError("no free name for the sandbox root")


def _send(fd: int, obj: Any) -> None:
    import pickle

    framing.send(fd, pickle.dumps(obj))


def _receive(fd: int) -> Any:
    import pickle

    return pickle.loads(framing.receive(fd))


def main(job_fd: int, result_fd: int, tmpfs_bytes: int, memory_bytes: int, cpu: int = -1) -> None:
    os.chdir("/")
    if cpu >= 0:  # the pool's choice; the zygote and every program inherit it
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})
    base, protections = probe()
    # the parent of every execution's temp dir: only the worker may create entries in it
    base["sandbox_root"] = _make_root()
    os.chmod(base["sandbox_root"], 0o711)
    protections["temp_fs"] = _private_tmpfs(base["sandbox_root"], tmpfs_bytes)
    if protections["temp_fs"] is None:
        protections["warnings"].append("no private tmpfs for temp dirs: programs write to the host's disk")
    landlock = (
        (base["landlock_abi"], base.pop("landlock_rules"), base["sandbox_root"]) if base["landlock_abi"] else None
    )
    protections["temp_root"] = base["sandbox_root"]
    # room for one program at its address-space limit plus a full temp filesystem (charged to its writer)
    base["memory_cgroup"] = cgroup.create("memory", memory_bytes + tmpfs_bytes + (64 << 20))
    protections["memory_cgroup"] = base["memory_cgroup"]
    if base["memory_cgroup"] is None:
        protections["warnings"].append("no memory cgroup: a program's processes together may use more than its limit")
    base["cpu_cgroup"] = cgroup.create("cpu", 1)
    protections["cpu_cgroup"] = base["cpu_cgroup"]
    if base["cpu_cgroup"] is None:
        protections["warnings"].append("no cpu cgroup: a program's processes may take more than one CPU")
    for name in PRELOAD:
        importlib.import_module(name)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if base["pid_namespace"]:
        kernel.unshare(kernel.CLONE_NEWPID)  # the zygote becomes PID 1 of the worker's namespace
    zygote_pid = os.fork()
    if zygote_pid == 0:
        try:
            ours.close()
            os.closerange(3, theirs.fileno())
            os.closerange(theirs.fileno() + 1, 1 << 20)
            for group in (base["memory_cgroup"], base["cpu_cgroup"]):
                if group:
                    cgroup.join(group)
            zygote.serve(theirs, base, landlock)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(1)
    theirs.close()
    import pickle

    facts = pickle.loads(ours.recv(1 << 16))  # what the zygote could set up, once
    protections["warnings"] += facts.pop("warnings")
    if facts.pop("capabilities") is not None:
        protections["capabilities"] = "none"
    protections.update(facts)
    kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
    os.umask(0o077)  # temp dirs get exactly 0700 from mkdir (programs keep the zygote's umask)
    import traceback

    import attrs

    from bench_runner_core.records import Verdict
    from bench_runner_core.sandbox import grading
    from bench_runner_core.sandbox.launcher import Launcher

    launcher = Launcher(ours, base)

    _send(result_fd, {"protections": protections, "pid": os.getpid()})
    while True:
        try:
            job = _receive(job_fd)
        except EOFError:
            launcher.close()
            ours.close()  # the zygote exits on EOF
            os.waitpid(zygote_pid, 0)
            with contextlib.suppress(OSError):
                kernel.umount(base["sandbox_root"], kernel.MNT_DETACH)
            cleanup.remove(base["sandbox_root"])  # empty once its tmpfs is detached
            cgroup.remove(base["memory_cgroup"])
            cgroup.remove(base["cpu_cgroup"])
            os._exit(0)  # nothing to flush: the interpreter's teardown would only delay the pool's close
        if _reap(zygote_pid):
            _send(result_fd, (None, True))  # not run: the pool runs it on a fresh worker
            os._exit(1)
        try:
            run = grading.run_stdio if type(job).__name__ == "StdioJob" else grading.run_check
            verdict = run(job, launcher)
        except BaseException as exc:
            verdict = Verdict(
                status="error", detail=f"sandbox worker failure: {exc!r}\n{traceback.format_exc(limit=-3)}"
            )
        if len(verdict.detail) > MAX_DETAIL:  # a program's crafted text never fills the results
            verdict = attrs.evolve(verdict, detail=verdict.detail[:MAX_DETAIL] + f"... ({len(verdict.detail)} chars)")
        # without its zygote a worker cannot run programs: it says so, and the pool starts a fresh one
        retiring = _reap(zygote_pid)
        _send(result_fd, (verdict, retiring))
        if retiring:
            os._exit(1)
        try:
            launcher.prepare(job.limits)
            launcher.finish_retired()
        except Exception:  # whatever a program left behind, the worker grades the next one
            traceback.print_exc()


def _reap(zygote_pid: int) -> bool:
    """Reap orphans handed to us (a subreaper); True if the zygote itself is gone."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False
        if pid == zygote_pid:
            return True


if __name__ == "__main__":
    main(*map(int, sys.argv[1:6]))
