from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_runner_core.api import Sandbox
from bench_runner_core.sandbox.jobs import CheckJob, Limits, StdioCase, StdioJob
from bench_runner_core.sandbox.pool import SandboxPool

from .conftest import GOOD_ADD, SELFTEST, no_sandbox_processes

LINES = f"{SELFTEST}:lines_equal"
SUM_PROGRAM = "import sys\nprint(sum(map(int, sys.stdin.read().split())))\n"
CASES = (StdioCase(input="1 2", expected="3"), StdioCase(input="5 5", expected="10"), StdioCase(input="", expected="0"))


def check(source: str, checker: str = "check_add", limit_s: float = 3, **kwargs: object) -> CheckJob:
    return CheckJob(source=source, checker=f"{SELFTEST}:{checker}", kwargs=kwargs, limits=Limits(timeout_s=limit_s))


def test_pool_is_a_sandbox(pool: SandboxPool) -> None:
    assert isinstance(pool, Sandbox)


def test_check_job_verdicts(pool: SandboxPool) -> None:
    assert pool.run(GOOD_ADD).status == "passed"
    wrong = pool.run(check("def add(a, b):\n    return a - b\n"))
    assert wrong.status == "failed"
    assert "wrong answer" in wrong.detail
    raised = pool.run(check("def add(a, b):\n    raise ValueError('nope ' + str(a))\n"))
    assert raised.status == "error"
    assert "ValueError: nope 2" in raised.detail
    assert "<program>" in raised.detail  # the traceback tail
    missing = pool.run(check("def plus(a, b):\n    return a + b\n"))
    assert missing.status == "error"
    assert "AttributeError" in missing.detail
    syntax = pool.run(check("def add(a, b) return a\n"))
    assert syntax.status == "error"
    assert "SyntaxError" in syntax.detail


def test_check_job_timeouts(pool: SandboxPool) -> None:
    spin = pool.run(check("def add(a, b):\n    while True:\n        pass\n", limit_s=1))
    assert spin.status == "timeout"
    assert 0.9 < spin.duration_s < 3
    at_import = pool.run(check("import time\ntime.sleep(60)\n", limit_s=1))
    assert at_import.status == "timeout"


def test_per_call_timeout(pool: SandboxPool) -> None:
    source = "import time\ndef f(x):\n    time.sleep(x)\n    return x\n"
    fast = pool.run(check(source, "check_calls", function="f", cases=[((0.01,), 0.01)], timeout_s=1.0))
    assert fast.status == "passed"
    slow = pool.run(check(source, "check_calls", function="f", cases=[((0.01,), 0.01), ((2,), 2)], timeout_s=0.5))
    assert slow.status == "timeout"
    assert slow.duration_s < 2


def test_instances_keep_state_in_the_program(pool: SandboxPool) -> None:
    source = (
        "class Counter:\n    def __init__(self):\n        self.n = 0\n"
        "    def bump(self, k):\n        self.n += k\n        return self.n\n"
    )
    calls = [("bump", (1,), 1), ("bump", (5,), 6)]
    assert pool.run(check(source, "check_class", class_name="Counter", calls=calls)).status == "passed"
    bad = [("bump", (1,), 1), ("bump", (5,), 5)]
    assert pool.run(check(source, "check_class", class_name="Counter", calls=bad)).status == "failed"


def test_main_block_does_not_run_in_check_jobs(pool: SandboxPool) -> None:
    source = "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    raise SystemExit(3)\n"
    assert pool.run(check(source)).status == "passed"


def test_stdio_verdicts(pool: SandboxPool) -> None:
    passed = pool.run(StdioJob(source=SUM_PROGRAM, cases=CASES, compare=LINES))
    assert (passed.status, passed.tests_passed, passed.tests_total) == ("passed", 3, 3)
    wrong = StdioJob(source="print(3)\n", cases=CASES, compare=LINES)
    first = pool.run(wrong)
    assert (first.status, first.tests_passed, first.tests_total) == ("failed", 1, 3)
    assert "case 1" in first.detail
    every = pool.run(StdioJob(source="print(3)\n", cases=CASES, compare=LINES, stop_at_first_failure=False))
    assert (every.status, every.tests_passed) == ("failed", 1)
    crash = pool.run(StdioJob(source="import sys\nprint(3)\nsys.exit(2)\n", cases=CASES, compare=LINES))
    assert crash.status == "error"
    assert "status 2" in crash.detail
    raised = pool.run(StdioJob(source="print(3)\n1/0\n", cases=CASES, compare=LINES))
    assert raised.status == "error"
    assert "ZeroDivisionError" in raised.detail


def test_stdio_runs_as_main_with_real_stdin(pool: SandboxPool) -> None:
    source = "import sys\nif __name__ == '__main__':\n    print(sys.stdin.readline().strip()[::-1], input())\n"
    job = StdioJob(source=source, cases=(StdioCase(input="abc\nxyz\n", expected="cba xyz"),), compare=LINES)
    assert pool.run(job).status == "passed"


def test_stdio_timeouts(pool: SandboxPool) -> None:
    job = StdioJob(
        source="import sys\nn = int(sys.stdin.read())\nwhile n:\n    pass\nprint(0)\n",
        cases=(
            StdioCase(input="0", expected="0"),
            StdioCase(input="1", expected="0"),
            StdioCase(input="0", expected="0"),
        ),
        compare=LINES,
        stop_at_first_failure=False,
        limits=Limits(test_timeout_s=1.0),
    )
    verdict = pool.run(job)
    assert verdict.status == "timeout"
    assert verdict.tests_passed == 1  # a timeout stops the job: the third case never ran
    overall = StdioJob(
        source="import time\ntime.sleep(0.4)\nprint(0)\n",
        cases=tuple(StdioCase(input="", expected="0") for _ in range(10)),
        compare=LINES,
        limits=Limits(timeout_s=1.0),
    )
    limited = pool.run(overall)
    assert limited.status == "timeout"
    assert limited.tests_passed is not None and limited.tests_passed <= 2


def test_concurrent_runs_from_many_threads(pool: SandboxPool) -> None:
    jobs = []
    for index in range(40):
        if index % 3 == 0:
            jobs.append(
                (check(f"def add(a, b):\n    return a + b + {index % 2}\n"), "passed" if index % 2 == 0 else "failed")
            )
        else:
            program = SUM_PROGRAM if index % 2 else "print(3)\n"
            jobs.append((StdioJob(source=program, cases=CASES, compare=LINES), "passed" if index % 2 else "failed"))
    with ThreadPoolExecutor(max_workers=8) as executor:
        verdicts = list(executor.map(lambda pair: pool.run(pair[0]), jobs))
    assert [v.status for v in verdicts] == [expected for _, expected in jobs]


def test_protections_are_reported(pool: SandboxPool) -> None:
    protections = pool.protections
    assert protections["rlimits"]["address_space_bytes"] == 4 << 30
    assert protections["output_cap_bytes"] == 1 << 20
    assert "PATH" in protections["env_allowlist"]
    for key in ("network_namespace", "pid_namespace", "landlock_abi"):
        assert key in protections
    if os.geteuid() == 0:  # this machine: everything available must be in force
        assert protections["network_namespace"] and protections["pid_namespace"]
        assert protections["landlock_abi"] >= 1


def test_a_worker_killed_between_jobs_is_replaced() -> None:
    with SandboxPool(workers=1) as pool:
        os.kill(pool._all[0].process.pid, signal.SIGKILL)
        time.sleep(0.2)
        assert pool.run(GOOD_ADD).status == "passed"


def test_a_worker_dying_mid_job_gives_an_error_and_the_pool_goes_on() -> None:
    with SandboxPool(workers=1) as pool:
        victim = pool._all[0].process.pid
        killer = threading.Timer(0.5, os.kill, (victim, signal.SIGKILL))
        killer.start()
        verdict = pool.run(check("import time\ndef add(a, b):\n    time.sleep(2)\n    return a + b\n"))
        assert verdict.status == "error"
        assert "worker died" in verdict.detail
        assert pool.run(GOOD_ADD).status == "passed"
        time.sleep(0.3)
        assert no_sandbox_processes(pool) == []


def test_close_stops_every_process() -> None:
    pool = SandboxPool(workers=2)
    pids = [worker.process.pid for worker in pool._all]
    assert pool.run(GOOD_ADD).passed
    pool.close()
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z"


def test_stdio_programs_end_like_scripts(pool: SandboxPool) -> None:
    # the interpreter waits for non-daemon threads and runs atexit handlers before exiting
    source = (
        "import atexit, threading, time\n"
        "atexit.register(lambda: print('bye'))\n"
        "def late():\n    time.sleep(0.2)\n    print('thread')\n"
        "threading.Thread(target=late).start()\n"
        "print('main')\n"
    )
    job = StdioJob(source=source, cases=(StdioCase(input="", expected="main\nthread\nbye"),), compare=LINES)
    assert pool.run(job).status == "passed"
    message = pool.run(StdioJob(source="import sys\nsys.exit('bad input')\n", cases=CASES[:1], compare=LINES))
    assert message.status == "error"
    assert "bad input" in message.detail


def test_a_long_correct_output_is_not_a_flood(pool: SandboxPool) -> None:
    expected = "\n".join(str(i) for i in range(300_000))  # about 2 MB, above the 1 MiB cap
    job = StdioJob(
        source="print('\\n'.join(str(i) for i in range(300_000)))\n",
        cases=(StdioCase(input="", expected=expected),),
        compare=LINES,
    )
    assert pool.run(job).status == "passed"


def test_a_worker_whose_zygote_dies_is_replaced() -> None:
    with SandboxPool(workers=1) as pool:
        assert pool.run(GOOD_ADD).passed
        worker = pool._all[0].process.pid
        zygotes = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == worker]
        assert len(zygotes) == 1
        os.kill(zygotes[0], signal.SIGKILL)
        time.sleep(0.2)
        # the worker notices before running the job, and the pool runs it on a fresh worker
        assert pool.run(GOOD_ADD).status == "passed"
        assert pool.run(check("def add(a, b):\n    return a - b\n")).status == "failed"
        assert pool._all[0].process.pid != worker


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def test_closing_a_worker_closes_each_of_its_fds_once() -> None:
    # closing a number twice would close whatever another thread opened under it in between
    # (a campaign runs several pools at once: one run's summary failed with EBADF that way)
    pool = SandboxPool(workers=1)
    worker = pool._all[0]
    worker.shut_down()
    reader, writer = os.pipe()  # takes the lowest free numbers: the one just closed
    try:
        pool.close()
        os.fstat(reader)
        os.fstat(writer)
    finally:
        os.close(reader)
        os.close(writer)
