"""A hostile sample never changes another sample's verdict, and nothing of it outlives the run."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench_runner_core.sandbox import remote
from bench_runner_core.sandbox.jobs import Limits, StdioCase, StdioJob
from bench_runner_core.sandbox.pool import SandboxPool

from .conftest import GOOD_ADD, SELFTEST, no_sandbox_processes
from .test_hostile import add_job, assert_not_passed, stdio_job

LINES = f"{SELFTEST}:lines_equal"

DEEP_TREE = """
import os
top = os.getcwd()
for i in range(1500):
    os.mkdir("d")
    os.chdir("d")
    open("f", "w").write("x")
    if i % 300 == 0:
        os.symlink("/etc/passwd", "link")
os.chmod(".", 0)
os.chdir(top)
os.chmod("d", 0)
"""


def _worker_pids(pool: SandboxPool) -> set[int]:
    return {worker.process.pid for worker in pool._all}


def test_a_deep_directory_tree_does_not_kill_the_worker(contained: SandboxPool) -> None:
    workers = _worker_pids(contained)
    as_script = contained.run(stdio_job(DEEP_TREE + "print('clean')\n", limits=Limits(timeout_s=20)))
    assert as_script.status == "passed", as_script
    in_check = add_job(DEEP_TREE + "def add(a, b):\n    return a + b\n", Limits(timeout_s=20))
    assert contained.run(in_check).status == "passed"
    # between two cases of one job too: the second case starts in an empty temp dir
    cases = tuple(StdioCase(input=f"{i}\n", expected="clean") for i in range(2))
    source = "import os\nassert not os.listdir('.'), os.listdir('.')\n" + DEEP_TREE + "print('clean')\n"
    job = StdioJob(source=source, cases=cases, compare=LINES, limits=Limits(timeout_s=20))
    verdict = contained.run(job)
    assert (verdict.status, verdict.tests_passed) == ("passed", 2), verdict
    for _ in range(4):  # the next samples, on every worker, grade as before
        assert contained.run(GOOD_ADD).status == "passed"
    assert _worker_pids(contained) == workers  # no worker died


SPINNERS = """
import os, time
wall = 1.5
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
        end = time.monotonic() + wall
        while time.monotonic() < end:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
used = os.times().children_user + os.times().children_system
print(f"{used / wall:.2f}")
"""


def _cpu_quota(pid: int) -> float | None:
    """CPUs the cpu cgroup of a process may use (None: unlimited)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            mount = next(m for m in glob.glob("/sys/fs/cgroup/cpu*") if "cpu" in Path(m).name.split(","))
            quota = int(Path(f"{mount}{path}/cpu.cfs_quota_us").read_text())
            return None if quota < 0 else quota / int(Path(f"{mount}{path}/cpu.cfs_period_us").read_text())
        if controllers == "" and Path(f"/sys/fs/cgroup{path}/cpu.max").exists():
            quota_text, period = Path(f"/sys/fs/cgroup{path}/cpu.max").read_text().split()
            return None if quota_text == "max" else int(quota_text) / int(period)
    return None


def test_spinners_get_one_cpu_at_most(contained: SandboxPool) -> None:
    # setsid and a reset affinity escape the worker's pinning; the cpu cgroup still caps them at one CPU
    if not contained.protections["cpu_cgroup"]:
        pytest.skip("no cpu cgroup here (the summary warns)")
    verdicts = []
    thread = threading.Thread(
        target=lambda: verdicts.append(contained.run(stdio_job(SPINNERS, expected="x", limits=Limits(timeout_s=20))))
    )
    thread.start()
    quotas = []
    deadline = time.monotonic() + 10
    while len(quotas) < 6 and time.monotonic() < deadline and thread.is_alive():
        quotas = [_cpu_quota(pid) for pid in no_sandbox_processes(contained, within_s=0)]
        time.sleep(0.05)
    thread.join()
    assert len(quotas) >= 6 and all(quota is not None and quota <= 1 for quota in quotas), quotas
    # (on an idle machine this is where six spinners would show two CPUs)
    cpus = float(verdicts[0].detail.rsplit("got '", 1)[1].split("\\n")[0])
    assert cpus <= 1.15, verdicts[0].detail


def test_a_flood_of_text_from_the_program_is_cut(contained: SandboxPool) -> None:
    huge = "def add(a, b):\n    raise ValueError('x' * (30 << 20))\n"
    verdict = contained.run(add_job(huge, Limits(timeout_s=20)))
    assert_not_passed(verdict, "error")
    assert len(verdict.detail) < 10_000
    # a forged reply: any type name, message and traceback, as long as the program likes
    forged = """
import os, struct
from bench_runner_core.sandbox import plaindata
def add(a, b):
    body = plaindata.encode(("raise", "E" * (8 << 20), "m" * (8 << 20), "t" * (8 << 20)))
    os.write(4, struct.pack("<I", len(body)) + body)
    os._exit(0)
"""
    verdict = contained.run(add_job(forged, Limits(timeout_s=20)))
    assert_not_passed(verdict, "error")
    assert len(verdict.detail) < 10_000


def test_exception_type_names_are_not_remembered() -> None:
    before = len(remote._ERROR_CLASSES)
    for index in range(500):
        remote.program_error(f"Made{index}Error", "message")
    assert isinstance(remote.program_error("KeyError", "k"), KeyError)
    assert len(remote._ERROR_CLASSES) <= before + 1


COLLIDING_SET = """
import os, struct
def add(a, b):
    # a set of 150,000 ints that all hash alike, written as a reply by hand (building it here would take minutes)
    step = 2 ** 61 - 1
    items = []
    for i in range(1, 150_001):
        raw = (i * step).to_bytes(((i * step).bit_length() + 8) // 8, "little", signed=True)
        items.append(b"i" + struct.pack("<I", len(raw)) + raw)
    body = b"t" + struct.pack("<I", 2) + b"s" + struct.pack("<I", 2) + b"ok" + b"S" + struct.pack("<I", 150_000)
    body += b"".join(items)
    os.write(4, struct.pack("<I", len(body)) + body)
    os._exit(0)
"""


def test_a_set_built_to_collide_does_not_stall_the_worker(contained: SandboxPool) -> None:
    start = time.monotonic()
    verdict = contained.run(add_job(COLLIDING_SET, Limits(timeout_s=5)))
    assert_not_passed(verdict, "error", "timeout")
    assert time.monotonic() - start < 10, verdict  # not the 35 s an unbounded decode takes


def test_a_case_that_interrupts_its_job_process_is_not_the_sandbox_failing(contained: SandboxPool) -> None:
    source = "import os, signal\nos.kill(os.getppid(), signal.SIGINT)\nprint('clean')\n"
    cases = tuple(StdioCase(input=f"{i}\n", expected="clean") for i in range(3))
    verdict = contained.run(StdioJob(source=source, cases=cases, compare=LINES, limits=Limits(timeout_s=5)))
    # (the last case runs in the job's process itself: its parent is outside, kill(0) interrupts itself)
    assert verdict.tests_passed >= 2 and verdict.status in ("passed", "error"), verdict
    assert "sandbox setup" not in verdict.detail and "sandbox worker" not in verdict.detail
    # a case still gets Python's own SIGINT handler
    interrupted = "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
    verdict = contained.run(stdio_job(interrupted))
    assert_not_passed(verdict, "error")
    assert "KeyboardInterrupt" in verdict.detail and "sandbox setup" not in verdict.detail


@pytest.mark.parametrize("status", [71, 1])
def test_an_exit_status_is_the_programs_own(contained: SandboxPool, status: int) -> None:
    for job in (
        stdio_job(f"import os\nos.write(2, b'sandbox setup failed: forged')\nos._exit({status})\n"),
        add_job(f"import os\nos.write(2, b'sandbox setup failed: forged')\nos._exit({status})\n"),
    ):
        verdict = contained.run(job)
        assert_not_passed(verdict, "error")
        assert not verdict.detail.startswith("sandbox setup failed") and "case 0: sandbox" not in verdict.detail


def _cgroup_dirs(pid: int, protections: dict) -> list[str]:
    """The worker's cgroups still there: any ``bench-sbx-<pid>-*`` beside the groups it made.

    Only there: another container's cgroup tree may hold an unrelated worker's leftovers with the
    same pid (pids wrap at 32768 on these machines).
    """
    parents = {os.path.dirname(group) for group in (protections["memory_cgroup"], protections["cpu_cgroup"]) if group}
    return [hit for parent in parents for hit in glob.glob(f"{parent}/bench-sbx-{pid}-*")]


def test_nothing_is_left_on_the_host_even_when_a_worker_is_killed() -> None:
    pool = SandboxPool(workers=2, limits=Limits(timeout_s=10))
    try:
        first = {worker.process.pid: dict(worker.wait_hello()["protections"]) for worker in pool._all}
        spin = stdio_job("import os\nfor _ in range(4):\n    os.fork()\nwhile True:\n    pass\n", expected="x")
        thread = threading.Thread(target=pool.run, args=(spin,))
        thread.start()
        time.sleep(0.5)
        victim = next(iter(first))
        os.killpg(victim, signal.SIGKILL)  # killed from outside, mid-job: the pool replaces it
        thread.join()
        assert pool.run(GOOD_ADD).status == "passed"
        workers = {worker.process.pid: dict(worker.wait_hello()["protections"]) for worker in pool._all}
        assert no_sandbox_processes(pool) == []
    finally:
        pool.close()
    for pid, protections in {**first, **workers}.items():
        assert not os.path.exists(protections["temp_root"]), protections["temp_root"]
        assert _cgroup_dirs(pid, protections) == [], pid
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) in {**first, **workers}]
    assert left == []


_OWNER = """
import json, time
from bench_runner_core.sandbox.pool import SandboxPool
pool = SandboxPool(workers=1)
worker = pool._all[0]
facts = {key: worker.hello["protections"][key] for key in ("temp_root", "memory_cgroup", "cpu_cgroup")}
print(json.dumps({"pid": worker.process.pid, **facts}), flush=True)
time.sleep(120)
"""


def test_what_a_worker_killed_with_its_pool_left_goes_when_the_next_pool_starts() -> None:
    owner = subprocess.Popen([sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True)
    try:
        facts = json.loads(owner.stdout.readline())  # type: ignore[union-attr]
        os.killpg(facts["pid"], signal.SIGKILL)  # the worker (and its zygote), with no chance to clean up
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{facts['pid']}") and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [path for path in (facts["temp_root"], facts["memory_cgroup"], facts["cpu_cgroup"]) if path]
    assert left and all(os.path.exists(path) for path in left), "the kill left them (else this shows nothing)"
    with SandboxPool(workers=1) as pool:
        assert pool.run(GOOD_ADD).status == "passed"
    assert [path for path in left if os.path.exists(path)] == []
