"""Hostile programs: each must be contained, must not pass, and must leave the pool working and clean."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from bench_runner_core.records import Verdict
from bench_runner_core.sandbox.jobs import CheckJob, Limits, StdioCase, StdioJob
from bench_runner_core.sandbox.pool import SandboxPool

from .conftest import GOOD_ADD, SELFTEST, no_sandbox_processes

SECRET = "sk-test-7f3a9c1e5b2d4f60"
LINES = f"{SELFTEST}:lines_equal"
QUICK = Limits(timeout_s=2)


def add_job(source: str, limits: Limits = QUICK) -> CheckJob:
    return CheckJob(source=source, checker=f"{SELFTEST}:check_add", limits=limits)


def stdio_job(source: str, expected: str = "clean", limits: Limits = QUICK) -> StdioJob:
    return StdioJob(source=source, cases=(StdioCase(input="", expected=expected),), compare=LINES, limits=limits)


def assert_not_passed(verdict: Verdict, *statuses: str) -> None:
    assert verdict.status != "passed", verdict
    if statuses:
        assert verdict.status in statuses, verdict


# -- secrets -----------------------------------------------------------------------------------------

SNOOP = f"""
import glob, os
found = []
def look(text, where):
    if {SECRET[:10]!r} in text:
        found.append(where)
look(repr(dict(os.environ)), "os.environ")
for path in ["/proc/self/environ", "/proc/1/environ", f"/proc/{{os.getppid()}}/environ", *glob.glob("/proc/*/environ")]:
    try:
        look(open(path, "rb").read().decode(errors="replace"), path)
    except OSError:
        pass
print("FOUND " + " ".join(found) if found else "clean")
"""


def test_environment_secrets_never_reach_programs_or_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    with SandboxPool(workers=1) as pool:
        verdict = pool.run(stdio_job(SNOOP))
        assert verdict.status == "passed", verdict.detail  # the program printed "clean"
        assert SECRET not in verdict.detail
        dump = pool.run(stdio_job("import os\nprint(dict(os.environ))\n", expected="x"))
        assert dump.status == "failed"
        assert "PATH" in dump.detail and SECRET not in dump.detail
        leaked = pool.run(
            CheckJob(
                source="import os\ndef add(a, b):\n    raise RuntimeError(str(dict(os.environ)))\n",
                checker=f"{SELFTEST}:check_add",
            )
        )
        assert leaked.status == "error" and SECRET not in leaked.detail
        worker_environ = Path(f"/proc/{pool._all[0].process.pid}/environ").read_bytes()
        assert SECRET.encode() not in worker_environ


def test_files_outside_the_temp_dir_cannot_be_read(contained: SandboxPool, tmp_path: Path) -> None:
    secret_file = tmp_path / "results.json"
    secret_file.write_text(SECRET)
    targets = [
        str(secret_file),
        "/etc/shadow",
        os.path.expanduser("~/.ssh/id_rsa"),
        os.path.expanduser("~/.bashrc"),
        str(Path(__file__).resolve()),
        "/proc/self/status",
        "/work/shared/data/README.md",
        str(tmp_path),
    ]
    source = f"""
import os
readable = []
for path in {targets!r}:
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        readable.append(path)
    except OSError:
        pass
print("READ " + " ".join(readable) if readable else "clean")
"""
    verdict = contained.run(stdio_job(source))
    assert verdict.status == "passed", verdict.detail


def test_writes_outside_the_temp_dir_are_refused(contained: SandboxPool, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    new_file = tmp_path / "planted.txt"
    source = f"""
import os, shutil
done = []
for action in (
    lambda: open({str(victim)!r}, "w").write("owned"),
    lambda: open({str(new_file)!r}, "w").write("owned"),
    lambda: os.remove({str(victim)!r}),
    lambda: open("/tmp/planted-by-program", "w").write("x"),
    lambda: os.symlink({str(victim)!r}, "link") or open("link", "w").write("owned"),
    lambda: os.rename({str(victim)!r}, "stolen"),
    lambda: shutil.rmtree({str(tmp_path)!r}),
):
    try:
        action()
        done.append("x")
    except OSError:
        pass
open("inside.txt", "w").write("fine")  # its own temp dir is writable
print("WROTE" if done else "clean")
"""
    verdict = contained.run(stdio_job(source))
    assert verdict.status == "passed", verdict.detail
    assert victim.read_text() == "original"
    assert not new_file.exists()
    assert not Path("/tmp/planted-by-program").exists()


def test_no_network(contained: SandboxPool) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]
    source = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"leak")
    print("CONNECTED")
except OSError:
    print("clean")
"""
    try:
        verdict = contained.run(stdio_job(source))
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert verdict.status == "passed", verdict.detail


def test_job_data_is_not_in_the_programs_memory(contained: SandboxPool) -> None:
    # the checker's kwargs (the tests, the expected answers) live in the worker, never in the program
    marker = "EXPECTED-ANSWER-" + SECRET
    source = """
import gc
PREFIX = "EXPECTED-ANSWER-"
def find():
    found = []
    for obj in gc.get_objects():
        for text in ([obj] if isinstance(obj, str) else list(obj.values()) if isinstance(obj, dict) else []):
            if isinstance(text, str) and text.startswith(PREFIX) and len(text) > len(PREFIX):
                found.append(text)
    return found
"""
    job = CheckJob(source=source, checker=f"{SELFTEST}:check_cannot_find", kwargs={"secret": marker})
    for _ in range(2):  # the second run comes after the worker has held the data
        assert contained.run(job).status == "passed"


# -- resource abuse ----------------------------------------------------------------------------------


def test_fork_bomb(contained: SandboxPool) -> None:
    source = (
        "import os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n"
        "        except OSError:\n            pass\n"
    )
    assert_not_passed(contained.run(add_job(source)), "timeout", "error")


def test_memory_bomb(contained: SandboxPool) -> None:
    verdict = contained.run(add_job("def add(a, b):\n    return len(bytearray(8 << 30))\n"))
    assert_not_passed(verdict, "resource_limit")
    assert "memory" in verdict.detail
    grow = contained.run(stdio_job("chunks = []\nwhile True:\n    chunks.append(bytes(500 << 20))\n"))
    assert_not_passed(grow, "resource_limit", "timeout")


def test_output_flood(contained: SandboxPool) -> None:
    stdio = contained.run(stdio_job("while True:\n    print('x' * 65536)\n"))
    assert_not_passed(stdio, "resource_limit")
    assert "output" in stdio.detail
    errors = contained.run(stdio_job("import os\nwhile True:\n    os.write(2, b'e' * 65536)\n"))
    assert_not_passed(errors, "resource_limit")
    # in a check job the flood is drained and dropped; the answer is what counts
    flood = (
        "import sys\ndef add(a, b):\n    for _ in range(200):\n        sys.stdout.write('y' * 65536)\n"
        "    return a - b\n"
    )
    assert_not_passed(contained.run(add_job(flood)), "failed")


def test_huge_reply(contained: SandboxPool) -> None:
    # (building and encoding 80 MB takes a while on a busy machine: the size check must get its chance)
    verdict = contained.run(add_job("def add(a, b):\n    return 'z' * (80 << 20)\n", Limits(timeout_s=20)))
    assert_not_passed(verdict, "resource_limit")


def test_huge_file(contained: SandboxPool) -> None:
    source = "with open('big', 'wb') as f:\n    while True:\n        f.write(b'0' * (1 << 20))\n"
    verdict = contained.run(stdio_job(source, limits=Limits(timeout_s=20)))
    assert_not_passed(verdict, "resource_limit")
    assert "file size" in verdict.detail


def test_recursion_bombs(contained: SandboxPool) -> None:
    deep_stack = "import sys\nsys.setrecursionlimit(10**8)\ndef add(a, b):\n    return add(a, b) + 1\n"
    # Python 3.11 frames live on the heap: this grows until the memory limit or the clock stops it
    assert_not_passed(contained.run(add_job(deep_stack)), "error", "resource_limit", "timeout")
    nested = "def add(a, b):\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x\n"
    assert_not_passed(contained.run(add_job(nested)), "failed")


def test_segfault(contained: SandboxPool) -> None:
    verdict = contained.run(add_job("import ctypes\ndef add(a, b):\n    return ctypes.string_at(0)\n"))
    assert_not_passed(verdict, "error")
    assert "SIGSEGV" in verdict.detail


# -- escaping, killing, surviving ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        "os.kill(os.getppid(), signal.SIGKILL)",
        "os.killpg(0, signal.SIGKILL)",
        "os.kill(-1, signal.SIGKILL)",
        "os.kill(1, signal.SIGKILL)",
        "[os.kill(int(p), signal.SIGKILL) for p in range(2, 4000) if p != os.getpid() and not os.system('true')]",
    ],
)
def test_killing_parents_and_groups(contained: SandboxPool, attack: str) -> None:
    source = (
        f"import os, signal\ndef add(a, b):\n    try:\n        {attack}\n    except OSError:\n        pass\n"
        "    return a - b\n"
    )
    assert_not_passed(contained.run(add_job(source)))


def test_daemons_and_subprocesses_do_not_outlive_the_program(contained: SandboxPool) -> None:
    source = """
import os, subprocess, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(120)
    os._exit(0)
subprocess.Popen(["sleep", "120"], start_new_session=True)
def add(a, b):
    return a + b
"""
    assert contained.run(add_job(source)).status == "passed"  # a correct answer passes; the rest is killed


def test_threads_that_keep_running(contained: SandboxPool) -> None:
    source = """
import threading, time
def spin():
    while True:
        time.sleep(0.01)
threading.Thread(target=spin).start()
def add(a, b):
    threading.Thread(target=spin).start()
    return a - b
"""
    assert_not_passed(contained.run(add_job(source)), "failed")


def test_closing_all_fds(contained: SandboxPool) -> None:
    assert_not_passed(contained.run(add_job("import os\nos.closerange(0, 4096)\ndef add(a, b):\n    return a + b\n")))
    verdict = contained.run(stdio_job("import os\nos.closerange(0, 4096)\n", expected=""))
    assert verdict.status in ("passed", "failed", "error")  # empty output; nothing breaks


def test_writing_garbage_to_every_fd(contained: SandboxPool) -> None:
    source = """
import os
for fd in range(0, 64):
    try:
        os.write(fd, b"\\xff\\x00\\x00\\x00garbage" * 100)
    except OSError:
        pass
def add(a, b):
    return a - b
"""
    assert_not_passed(contained.run(add_job(source)))


def test_temp_dir_tricks_are_cleaned_up(contained: SandboxPool) -> None:
    source = """
import os
os.makedirs("a/b/c")
open("a/b/c/f", "w").write("x")
os.mkfifo("fifo")
os.symlink("/etc/passwd", "passwd")
os.chmod("a/b/c", 0)
os.chmod("a", 0)
os.chmod(".", 0)
print("clean")
"""
    roots = [Path(worker.wait_hello()["protections"]["temp_root"]) for worker in contained._all]
    before = {run for root in roots for run in root.glob("run-*")}
    assert contained.run(stdio_job(source)).status == "passed"
    # the program's dir is gone; a new one may exist, empty, for the spare waiting for the next job
    for left in {run for root in roots for run in root.glob("run-*")} - before:
        assert not any(left.iterdir()), left


# -- forging a pass --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exit_trick",
    [
        "sys.exit(0)",
        "os._exit(0)",
        "raise SystemExit(0)",
        "raise KeyboardInterrupt",
        "atexit.register(lambda: os._exit(0)); sys.exit(0)",
        "os.kill(os.getpid(), signal.SIGKILL)",
    ],
)
def test_exiting_early_never_passes(contained: SandboxPool, exit_trick: str) -> None:
    # (a program is PID 1 of its namespace, so SIGKILL to itself is ignored: it then fails instead)
    at_import = f"import atexit, os, signal, sys\n{exit_trick}\n"
    assert_not_passed(contained.run(add_job(at_import)), "error")
    in_call = f"import atexit, os, signal, sys\ndef add(a, b):\n    {exit_trick}\n"
    assert_not_passed(contained.run(add_job(in_call)), "error", "failed")


def test_swallowing_the_timeout(contained: SandboxPool) -> None:
    source = """
import signal, time
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def add(a, b):
    while True:
        try:
            time.sleep(10)
        except BaseException:
            pass
"""
    verdict = contained.run(add_job(source, Limits(timeout_s=1)))
    assert_not_passed(verdict, "timeout")
    assert verdict.duration_s < 3


def test_printing_a_success_marker(contained: SandboxPool) -> None:
    source = (
        'print(\'passed\')\nprint(\'{"passed": true, "status": "passed"}\')\n'
        "def add(a, b):\n    print('passed')\n    return 0\n"
    )
    assert_not_passed(contained.run(add_job(source)), "failed")


def test_forged_replies_are_just_data(contained: SandboxPool) -> None:
    # pre-writes well-formed replies saying "passed" into the reply pipe: they are decoded as mere answers
    source = """
import os, struct
from bench_runner_core.sandbox import plaindata
for value in (None, True, "passed", {"status": "passed"}):
    body = plaindata.encode(("ok", value))
    os.write(4, struct.pack("<I", len(body)) + body)
def add(a, b):
    return -1
"""
    assert_not_passed(contained.run(add_job(source)), "failed")


@pytest.mark.parametrize(
    "patch",
    [
        "import json; json.dumps = lambda *a, **k: '{\"passed\": true}'; json.loads = lambda *a, **k: {'passed': True}",
        "import pickle; pickle.dumps = lambda *a, **k: b'passed'; pickle.loads = lambda *a, **k: 'passed'",
        "import os; os.write = lambda fd, data: len(data)",
        "import sys, io; sys.stdout = io.StringIO(); sys.stdout.write('passed')",
        "import bench_runner_core.sandbox.plaindata as p; p.encode = lambda v: b'T'",
    ],
)
def test_patching_modules(contained: SandboxPool, patch: str) -> None:
    source = f"{patch}\ndef add(a, b):\n    return a - b\n"
    assert_not_passed(contained.run(add_job(source)))


# -- values that lie -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "type('Eq', (), {'__eq__': lambda s, o: True, '__hash__': lambda s: 0})()",
        "type('F', (float,), {'__eq__': lambda s, o: True, '__hash__': lambda s: 0})(0.0)",
        "type('I', (int,), {'__eq__': lambda s, o: True, '__hash__': lambda s: 0})(0)",
        "type('S', (str,), {'__eq__': lambda s, o: True, '__hash__': lambda s: 0})('')",
        "[type('Eq', (), {'__eq__': lambda s, o: True})()]",
        "{'k': type('L', (list,), {'__eq__': lambda s, o: True})()}",
    ],
)
def test_values_that_equal_everything(contained: SandboxPool, value: str) -> None:
    verdict = contained.run(add_job(f"def add(a, b):\n    return {value}\n"))
    assert_not_passed(verdict, "failed")
    assert "non-plain" in verdict.detail


def test_replacing_builtins_the_tests_use(contained: SandboxPool) -> None:
    source = """
import builtins
builtins.abs = lambda x: 0
builtins.isinstance = lambda *a: True
def diff(a, b):
    return 0.0
def pair():
    return (1, 2)
"""
    job = CheckJob(source=source, checker=f"{SELFTEST}:check_abs_diff", limits=QUICK)
    assert_not_passed(contained.run(job), "failed")
    with_len = source.replace("return (1, 2)", "return 1") + "builtins.len = lambda x: 2\n"
    assert_not_passed(contained.run(CheckJob(source=with_len, checker=f"{SELFTEST}:check_abs_diff", limits=QUICK)))
    honest = "def diff(a, b):\n    return abs(a - b)\ndef pair():\n    return (1, 2)\n"
    assert contained.run(CheckJob(source=honest, checker=f"{SELFTEST}:check_abs_diff")).status == "passed"


def test_the_pool_survives_a_barrage(contained: SandboxPool) -> None:
    attacks = [
        "import os\nos.kill(-1, 9)\n",
        "import ctypes\nctypes.string_at(0)\n",
        "while True:\n    print('x' * 65536)\n",
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        "x = bytearray(8 << 30)\n",
    ]
    verdicts: list[Verdict] = []
    threads = [threading.Thread(target=lambda s=s: verdicts.append(contained.run(stdio_job(s)))) for s in attacks * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(verdicts) == len(threads)
    assert not any(v.passed for v in verdicts)


def test_filling_the_temp_filesystem(contained: SandboxPool) -> None:
    source = (
        "for i in range(40):\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'0' * (60 << 20))\nprint('clean')\n"
    )
    verdict = contained.run(stdio_job(source, limits=Limits(timeout_s=20)))
    assert_not_passed(verdict, "resource_limit")
    if contained.protections["temp_fs"]:
        assert "disk space" in verdict.detail


def test_memory_spread_over_many_processes() -> None:
    small = Limits(timeout_s=10, memory_bytes=256 << 20, file_size_bytes=16 << 20)
    source = """
import os, time
children = []
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        block = b"x" * (200 << 20)
        time.sleep(3)  # all hold their memory at once
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("done")
"""
    with SandboxPool(workers=1, limits=small) as pool:
        job = StdioJob(source=source, cases=(StdioCase(input="", expected="x"),), compare=LINES, limits=small)
        verdict = pool.run(job)
        assert_not_passed(verdict)
        if pool.protections["memory_cgroup"]:
            assert verdict.status == "resource_limit", verdict
        assert pool.run(GOOD_ADD).status == "passed"
        assert no_sandbox_processes(pool) == []


def test_file_handles_do_not_bypass_the_confinement(contained: SandboxPool, tmp_path: Path) -> None:
    # as root the program keeps CAP_DAC_READ_SEARCH (the interpreter may live under a 0700 home);
    # open_by_handle_at (the "shocker" escape) must still be stopped by Landlock
    secret_file = tmp_path / "key"
    secret_file.write_text(SECRET)
    source = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class Handle(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint), ("kind", ctypes.c_int), ("data", ctypes.c_ubyte * 128)]
read = []
for target in ["/etc/shadow", {str(secret_file)!r}, "/work/main/pyproject.toml"]:
    handle, mount_id = Handle(size=128), ctypes.c_int()
    if libc.name_to_handle_at(-100, target.encode(), ctypes.byref(handle), ctypes.byref(mount_id), 0):
        continue
    for anchor in ("/usr", "/", "."):
        try:
            mount_fd = os.open(anchor, os.O_RDONLY)
        except OSError:
            continue
        fd = libc.open_by_handle_at(mount_fd, ctypes.byref(handle), os.O_RDONLY)
        if fd >= 0:
            read.append(target + ":" + os.read(fd, 40).decode(errors="replace"))
print("READ " + " ".join(read) if read else "clean")
"""
    verdict = contained.run(stdio_job(source))
    assert verdict.status == "passed", verdict.detail


# -- one job, many cases: each case is a fresh fork of the job's confined process ------------------------


def cases_job(source: str, n: int = 3, expected: str = "clean", **kwargs: object) -> StdioJob:
    cases = tuple(StdioCase(input=f"{i}\n", expected=expected) for i in range(n))
    return StdioJob(source=source, cases=cases, compare=LINES, limits=QUICK, **kwargs)  # type: ignore[arg-type]


def test_a_case_starts_alone_in_an_empty_temp_dir(contained: SandboxPool) -> None:
    # each case reports what an earlier one left behind, then leaves a file and a daemon of its own
    source = """
import os, subprocess, time
others = []
for pid in range(2, os.getpid()):
    try:
        os.kill(pid, 0)
        others.append(pid)
    except OSError:
        pass
left = sorted(os.listdir("."))
print("clean" if not others and not left else f"left {others} {left}")
open("mark", "w").write("x")
os.mkdir("d")
os.chmod(".", 0)
if os.fork() == 0:
    os.setsid()
    time.sleep(60)
    os._exit(0)
subprocess.Popen(["sleep", "60"], start_new_session=True)
"""
    verdict = contained.run(cases_job(source))
    assert (verdict.status, verdict.tests_passed) == ("passed", 3), verdict


def test_a_case_cannot_reach_the_process_that_forks_it(contained: SandboxPool) -> None:
    # the job's process (PID 1 of the namespace) holds the control socket: a case that could ptrace it,
    # steal its fds or kill it could forge the status of later cases
    source = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PIDFD_GETFD = 16, 438
got = []
parent = os.getppid()
if libc.ptrace(PTRACE_ATTACH, parent, 0, 0) == 0:
    got.append("ptrace")
try:
    pidfd = os.pidfd_open(parent)
    for fd in range(3, 16):
        if libc.syscall(PIDFD_GETFD, pidfd, fd, 0) >= 0:
            got.append(f"fd {fd}")
except OSError:
    pass
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
    try:
        os.kill(parent, sig)
    except OSError:
        pass
print("got " + " ".join(got) if got else "clean")
"""
    verdict = contained.run(cases_job(source))
    assert (verdict.status, verdict.tests_passed) == ("passed", 3), verdict


def test_a_failing_case_does_not_spoil_the_next(contained: SandboxPool) -> None:
    source = """
import os, sys
n = int(input())
if n == 0:
    print("clean")
    sys.stdout.flush()
    os._exit(3)
if n == 1:
    print("x" * (4 << 20))
print("clean")
"""
    verdict = contained.run(cases_job(source, n=4, stop_at_first_failure=False))
    assert verdict.status == "error" and "case 0" in verdict.detail, verdict
    assert verdict.tests_passed == 2  # case 1 floods its output (and takes the process down); 2 and 3 pass
