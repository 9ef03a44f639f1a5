"""Bare grading loops, a process per sample, to time against ours (``grade_vs_human_eval --floor``).

Run in a lean interpreter, with only the modules our zygote preloads, so that
its forks copy no more than our zygote's do::

    python -I -S bench/floor.py MODE JOBS WORKERS TIMEOUT PRELOAD SANDBOX RULES

``JOBS`` is a JSON list of ``[prompt, completion, test, entry_point]``; the
verdicts and the seconds taken go to ``JOBS + ".out"`` (not stdout: a program
may print there). One process per CPU grades its share of the jobs, one
sample after the other (nothing overlaps; our worker forks the next program
while it checks the current one); the clock starts once the modules are loaded.
The modes:

- ``open``: each sample is forked from that process and checked inside the
  fork, unconfined, as the official harness checks it. Nothing protects the
  verdict: the program can fake a pass.
- ``confined``: only what the sandbox's protections need. The checker
  runs in its own process and calls the program over two pipes; programs are
  forked by a zygote that never held test data, each as PID 1 of a new PID
  namespace, in a new IPC namespace and session, with rlimits, a temp dir of
  its own, the sandbox's Landlock rules and (as root) a uid of its own that
  keeps only ``CAP_DAC_READ_SEARCH``, reads limited by Landlock. No
  cgroups, no seccomp, no minimal root, no output capture, no plain-data
  check of replies (marshal: these samples are ours): all of that only adds.

``SANDBOX`` is the directory of ``bench_runner_core.sandbox``: its ``kernel``
and ``framing`` modules (standard library only) are loaded from there, so the
system calls and the frames are the sandbox's own. ``RULES`` is a JSON file
holding ``[landlock_abi, rules]`` (ABI 0: no Landlock). ``confined`` needs
root: PID namespaces and a uid per program.
"""

import contextlib
import fcntl
import gc
import importlib
import importlib.util
import json
import marshal
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

kernel = framing = None  # the sandbox's own modules, loaded by path in main()
_UID_BASE = 1_600_000_000
_LIMITS = (
    (resource.RLIMIT_AS, 1 << 30),
    (resource.RLIMIT_FSIZE, 1 << 26),
    (resource.RLIMIT_CPU, 10),
    (resource.RLIMIT_CORE, 0),
    (resource.RLIMIT_NPROC, 64),
)


def _receive(fd):
    return marshal.loads(framing.receive(fd))


def _send(fd, message):
    framing.send(fd, marshal.dumps(message))


def _open_share(jobs, timeout):
    """Fork each sample and check it inside the fork."""
    gc.collect()
    gc.freeze()
    verdicts = []
    for prompt, completion, test, entry_point in jobs:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            signal.setitimer(signal.ITIMER_REAL, timeout)  # SIGALRM ends a program that loops
            try:
                text = f"{prompt}{completion}\n{test}\ncheck({entry_point})\n"
                exec(compile(text, "<sample>", "exec"), {"__name__": "sample"})
                os.write(write, b"1")
            except BaseException:
                os.write(write, b"0")
            os._exit(0)
        os.close(write)
        verdicts.append(os.read(read, 1) == b"1")
        os.close(read)
        os.waitpid(pid, 0)
    return verdicts


def _program(tmpdir, uid, landlock):
    """A confined program: fds 3 (calls in), 4 (replies out) and 5 (the Landlock ruleset, if ``landlock``)."""
    kernel.unshare(kernel.CLONE_NEWIPC)
    os.setsid()
    for which, value in _LIMITS:
        resource.setrlimit(which, (value, value))
    os.chdir(tmpdir)
    if landlock:
        kernel.landlock_restrict_self(5)
        os.close(5)
    if uid is not None:
        os.setgroups([])
        kernel.prctl(kernel.PR_SET_KEEPCAPS, 1)
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # as the sandbox does outside a minimal root: the interpreter may live under a 0700 home
        kernel.capset(kernel.capability_sets(1 << kernel.CAP_DAC_READ_SEARCH))
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    source = _receive(3)
    namespace = {"__name__": "program"}
    try:
        exec(compile(source, "<program>", "exec"), namespace)
        _send(4, ("ok", None))
    except BaseException as exc:
        _send(4, ("raise", type(exc).__name__))
        os._exit(1)
    while True:
        try:
            name, args = _receive(3)
        except EOFError:
            os._exit(0)
        try:
            _send(4, ("ok", namespace[name](*args)))
        except BaseException as exc:
            _send(4, ("raise", type(exc).__name__))


def _zygote(sock, root, abi, rules):
    """Fork one confined program per request (fds: calls in, replies out, status out); reap and report each."""
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
    ruleset = kernel.landlock_ruleset(abi, [*rules, (root, kernel.fs_rights(abi))]) if abi else -1
    own_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)
    gc.collect()
    gc.freeze()
    children = {}  # pidfd -> (pid, status fd)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    while True:
        events = [fd for fd, _ in poller.poll()]
        for fd in events:
            if fd in children:
                pid, status_fd = children.pop(fd)
                poller.unregister(fd)
                os.close(fd)
                os.write(status_fd, struct.pack("<i", os.waitpid(pid, 0)[1]))
                os.close(status_fd)
        if sock.fileno() not in events:
            continue
        raw, fds, _flags, _addr = socket.recv_fds(sock, 4096, 3)
        if not raw:
            os._exit(0)
        tmpdir, uid = marshal.loads(raw)
        kernel.setns(own_namespace, kernel.CLONE_NEWPID)
        kernel.unshare(kernel.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            try:
                kept = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (fds[0], fds[1], ruleset) if fd >= 0]
                for target, fd in enumerate(kept, start=3):
                    os.dup2(fd, target)
                os.closerange(3 + len(kept), 1 << 16)
                _program(tmpdir, uid, ruleset >= 0)
            finally:
                os._exit(71)
        pidfd = os.pidfd_open(pid)
        socket.send_fds(sock, [b"p"], [pidfd])
        children[pidfd] = (pid, fds[2])
        poller.register(pidfd, select.POLLIN)
        for fd in fds[:2]:
            os.close(fd)


class _ProgramRaised(Exception):
    pass


def _out_of_time(_signum, _frame):
    raise TimeoutError


def _check(ends, prompt, test, entry_point):
    """The trusted side: run the check in this process, each call to the candidate crossing the pipes."""
    calls, replies = ends

    def candidate(*args):
        _send(calls, (entry_point, args))
        kind, value = _receive(replies)
        if kind != "ok":
            raise _ProgramRaised(value)
        return value

    if _receive(replies)[0] != "ok":
        return False
    checker = {"__name__": "checker"}
    exec(prompt, checker)  # the prompt's own helpers, which some checks call
    checker[entry_point] = candidate  # and the function itself, by name
    exec(test, checker)
    checker["check"](candidate)
    return True


def _confined_share(path, index, count, cpu, timeout, abi, rules):
    """Fork the zygote before any test data is loaded, then grade this share's jobs through it."""
    root = f"{path}.{cpu}.d"  # beside the jobs file: the caller's temp dir
    os.mkdir(root, 0o711)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    kernel.unshare(kernel.CLONE_NEWPID)  # the zygote is PID 1 of a namespace of its own
    zygote = os.fork()
    if zygote == 0:
        ours.close()
        try:
            _zygote(theirs, root, abi, rules)
        finally:
            os._exit(1)
    theirs.close()
    signal.signal(signal.SIGALRM, _out_of_time)
    with open(path) as handle:
        jobs = json.load(handle)[index::count]
    root_user = os.geteuid() == 0
    verdicts = []
    for number, (prompt, completion, test, entry_point) in enumerate(jobs):
        tmpdir = f"{root}/run-{number}"
        uid = _UID_BASE + 2 * cpu + (number & 1) if root_user else None
        os.mkdir(tmpdir, 0o700)
        if uid is not None:
            os.chown(tmpdir, uid, uid)
        calls_r, calls_w = os.pipe()
        replies_r, replies_w = os.pipe()
        status_r, status_w = os.pipe()
        socket.send_fds(ours, [marshal.dumps((tmpdir, uid))], [calls_r, replies_w, status_w])
        for fd in (calls_r, replies_w, status_w):
            os.close(fd)
        pidfd = socket.recv_fds(ours, 16, 1)[1][0]
        signal.setitimer(signal.ITIMER_REAL, timeout)  # SIGALRM ends a check whose program loops
        try:
            _send(calls_w, prompt + completion)
            verdicts.append(_check((calls_w, replies_r), prompt, test, entry_point))
        except BaseException:
            verdicts.append(False)
        signal.setitimer(signal.ITIMER_REAL, 0)
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        while os.read(status_r, 64):  # EOF: the zygote has reaped the program's whole namespace
            pass
        for fd in (calls_w, replies_r, status_r, pidfd):
            os.close(fd)
        os.rmdir(tmpdir)
    ours.close()
    os.waitpid(zygote, 0)
    os.rmdir(root)
    return verdicts


def _load(directory, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(directory, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(mode, path, workers, timeout, preload, sandbox, rules_path):
    global kernel, framing
    kernel, framing = _load(sandbox, "kernel"), _load(sandbox, "framing")
    with open(rules_path) as handle:
        abi, rules = json.load(handle)
    rules = [tuple(rule) for rule in rules]
    for name in preload:
        importlib.import_module(name)
    with open(path) as handle:
        total = len(json.load(handle))
    cpus = sorted(os.sched_getaffinity(0))[:workers]
    start = time.perf_counter()
    shares = []
    for index, cpu in enumerate(cpus):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                os.sched_setaffinity(0, {cpu})
                if mode == "open":
                    with open(path) as handle:
                        verdicts = _open_share(json.load(handle)[index :: len(cpus)], timeout)
                else:
                    verdicts = _confined_share(path, index, len(cpus), cpu, timeout, abi, rules)
                os.write(write, json.dumps(verdicts).encode())
            finally:
                os._exit(0)
        os.close(write)
        shares.append((pid, read))
    verdicts = [False] * total
    for index, (pid, read) in enumerate(shares):
        with os.fdopen(read, "rb") as handle:
            verdicts[index :: len(cpus)] = json.loads(handle.read())
        os.waitpid(pid, 0)
    with open(path + ".out", "w") as handle:
        json.dump({"seconds": time.perf_counter() - start, "verdicts": verdicts}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5].split(), sys.argv[6], sys.argv[7])
