"""Grading in the trusted worker: turn what a sandboxed execution did into a Verdict."""

from __future__ import annotations

import contextlib
import errno
import importlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench_runner_core.records import Verdict
from bench_runner_core.sandbox.execution import Case, Execution
from bench_runner_core.sandbox.jobs import CheckJob, StdioJob
from bench_runner_core.sandbox.launcher import Launcher
from bench_runner_core.sandbox.remote import (
    NotPlainData,
    OutputLimit,
    ProgramError,
    ProgramTimeout,
    RemoteProgram,
    died_error,
)

_SHOWN = 300
_TOGETHER = "memory limit exceeded (the OOM killer stopped a process of the program)"
_resolved: dict[str, Callable[..., Any]] = {}


def resolve(target: str) -> Callable[..., Any]:
    """Import ``"module:function"`` (trusted code named by a benchmark)."""
    if target not in _resolved:
        module_name, _, attr = target.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        _resolved[target] = obj
    return _resolved[target]


class CheckerTimeout(BaseException):
    pass


_armed = False
_installed = False


def _raise_timeout(_signum: int, _frame: Any) -> None:
    if _armed:  # an alarm that lands after the checker ended is dropped
        raise CheckerTimeout


@contextlib.contextmanager
def _alarm(deadline: float) -> Iterator[None]:
    # bounds the trusted checker's own computation; calls into the program have their own deadline
    global _armed, _installed
    if not _installed:
        signal.signal(signal.SIGALRM, _raise_timeout)  # once per worker: the handler stays
        _installed = True
    _armed = True
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001) + 0.05)
    try:
        yield
    finally:
        _armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


def _short(text: str, limit: int = _SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _limit_hit(type_name: str, text: str) -> str | None:
    lines = text.strip().splitlines()
    last = lines[-1] if lines else ""
    if type_name == "MemoryError" or last.startswith("MemoryError"):
        return "memory limit exceeded"
    if "File too large" in last or f"[Errno {errno.EFBIG}]" in last:
        return "file size limit exceeded"
    if "No space left on device" in last or f"[Errno {errno.ENOSPC}]" in last:
        return "disk space limit exceeded (the private temp filesystem is full)"
    return None


def _program_error_verdict(exc: ProgramError, setup_failed: bool) -> tuple[str, str]:
    if exc.type_name == "ProgramDied" and setup_failed:
        return "error", "sandbox setup failed: " + _short(exc.traceback_tail, 1000)
    limit = _limit_hit(exc.type_name, exc.traceback_tail or exc.message)
    if limit:
        return "resource_limit", limit
    return "error", _short(str(exc), 500) + ("\n" + exc.traceback_tail if exc.traceback_tail else "")


def _assertion_detail(exc: AssertionError) -> str:
    message = str(exc)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" (checker line {tb.tb_lineno})" if tb is not None else ""
    return "wrong answer" + (f": {_short(message, 500)}" if message else "") + where


def run_check(job: CheckJob, launcher: Launcher) -> Verdict:
    start = time.monotonic()
    deadline = start + job.limits.timeout_s
    checker = resolve(job.checker)
    execution = launcher.launch(
        mode="check", prelude=job.prelude, source=job.source, limits=job.limits, deadline=deadline
    )
    program = RemoteProgram(execution)
    try:
        if not execution.wait_started():
            status, detail = "error", "the sandbox did not start"
        else:
            with _alarm(deadline):
                program.load()
                checker(program, **job.kwargs)
            status, detail = "passed", ""
    except (ProgramTimeout, CheckerTimeout) as exc:
        status, detail = "timeout", str(exc) or f"the job exceeded {job.limits.timeout_s} s"
    except OutputLimit as exc:
        status, detail = "resource_limit", f"output limit: {exc}"
    except NotPlainData as exc:
        status, detail = "failed", str(exc)
    except ProgramError as exc:
        status, detail = _program_error_verdict(exc, execution.setup_failed)
    except AssertionError as exc:
        status, detail = "failed", _assertion_detail(exc)
    except Exception as exc:
        status, detail = "error", f"the checker raised {type(exc).__name__}: {_short(str(exc), 500)}"
    finally:
        launcher.retire(execution)
    if launcher.oom_killed() and status != "passed":
        status, detail = "resource_limit", _TOGETHER
    return Verdict(status=status, detail=detail, duration_s=time.monotonic() - start)


def _case_outcome(case: Case, job: StdioJob, index: int) -> tuple[str, str] | None:
    """None when the case ran cleanly (its output then gets compared)."""
    if case.timed_out:
        return "timeout", f"case {index}: no result within the time limit"
    if case.overflow:
        return "resource_limit", f"case {index}: output exceeded {job.limits.output_bytes} bytes"
    wait_status = case.wait_status
    if wait_status is not None and wait_status == 0:
        return None
    stderr = bytes(case.stderr).decode(errors="replace")
    if wait_status is not None and (wait_status & 0x7F) == signal.SIGXFSZ:
        return "resource_limit", f"case {index}: file size limit exceeded"
    exc = died_error(wait_status, bytes(case.stderr))
    if isinstance(exc, ProgramTimeout):
        return "timeout", f"case {index}: {exc}"
    lines = stderr.strip().splitlines()
    assert isinstance(exc, ProgramError)
    limit = _limit_hit("", stderr)
    if limit:
        return "resource_limit", f"case {index}: {limit}"
    return "error", f"case {index}: {exc.message}\n" + "\n".join(lines[-6:])


def _compares(compare: Callable[[str, str], bool], expected: str, actual: str) -> bool:
    # the output is the program's: whatever in it the trusted comparison chokes on is a wrong answer
    try:
        return bool(compare(expected, actual))
    except Exception:
        return False


def run_stdio(job: StdioJob, launcher: Launcher) -> Verdict:
    """Run the cases in order in one confined program (a fresh fork of it per case)."""
    start = time.monotonic()
    deadline = start + job.limits.timeout_s
    compare = resolve(job.compare)
    passed = 0
    failure: tuple[str, str] | None = None
    execution: Execution | None = None
    try:
        for index, case in enumerate(job.cases):
            if time.monotonic() >= deadline:
                failure = failure or ("timeout", f"the job exceeded {job.limits.timeout_s} s before case {index}")
                break
            if execution is None or not execution.alive:  # the first case, or the last one took it down
                if execution is not None:
                    launcher.retire(execution)
                execution = launcher.launch(
                    mode="stdio", prelude=job.prelude, source=job.source, limits=job.limits, deadline=deadline
                )
            if not execution.wait_started():
                outcome: tuple[str, str] | None = ("error", "the sandbox did not start")
            elif execution.setup_failed:
                execution.drain()
                outcome = (
                    "error",
                    f"sandbox setup failed: {_short(bytes(execution.stderr).decode(errors='replace'), 1000)}",
                )
            else:
                ran = execution.run_case(
                    case.input.encode(),
                    deadline=job.limits.test_deadline(time.monotonic(), deadline),
                    # a correct answer longer than the cap must not read as an output flood
                    output_cap=max(job.limits.output_bytes, 2 * len(case.expected.encode()) + (64 << 10)),
                    last=index == len(job.cases) - 1,
                )
                outcome = _case_outcome(ran, job, index)
            oom = launcher.oom_killed()
            if outcome is None:
                actual = bytes(ran.stdout).decode(errors="replace")
                if _compares(compare, case.expected, actual):
                    passed += 1
                    if index + 1 < len(job.cases):
                        execution.clear_tmpdir()  # each case starts with an empty temp dir
                    continue
                outcome = ("failed", f"case {index}: expected {_short(case.expected)!r}, got {_short(actual)!r}")
            if oom:  # whatever went wrong, a process of the program hit the memory ceiling
                outcome = ("resource_limit", f"case {index}: {_TOGETHER}")
            failure = failure or outcome
            if job.stop_at_first_failure or outcome[0] == "timeout":
                break
            execution.clear_tmpdir()
    finally:
        if execution is not None:
            launcher.retire(execution)
    status, detail = failure or ("passed", "")
    return Verdict(
        status=status,
        detail=detail,
        tests_passed=passed,
        tests_total=len(job.cases),
        duration_s=time.monotonic() - start,
    )
