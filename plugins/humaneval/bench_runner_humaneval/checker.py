"""The trusted side of HumanEval grading, run in a sandbox worker with the program behind a pipe.

Two checkers, named in ``CheckJob.checker``:

* ``check_tests``: the official HumanEval way. The problem's prompt and test
  code run here, in a fresh namespace (the prompt defines helpers some tests
  use: ``poly`` for HumanEval/32, ``encode_cyclic`` for /38), and ``check`` gets
  the program's function as ``candidate``. One time budget covers every call,
  like the official harness's single timer.
* ``check_outputs``: EvalPlus's differential testing on one input set (base or
  plus): each output of the program must equal the canonical solution's,
  exactly or within ``atol`` where EvalPlus allows it.

Nothing here trusts the program: its return values arrive as decoded plain
data, so ``==`` below compares built-in values only.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import math
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

#: the per-call timeout keyword of RemoteProgram's function proxies
TIMEOUT_KW = "timeout_s"
# A call made after the budget is spent still goes through the proxy, with a
# zero timeout that fails before anything is sent, so the timeout is reported
# the sandbox's way (and no fast call can slip through after the budget).
_SPENT_S = 0.0


def _budgeted(function: Callable[..., Any], deadline: float, per_call_s: float | None = None) -> Callable[..., Any]:
    def candidate(*args: Any) -> Any:
        left = deadline - time.monotonic()
        if per_call_s is not None:
            left = min(left, per_call_s)
        return function(*args, **{TIMEOUT_KW: max(left, _SPENT_S)})

    return candidate


def check_tests(program: Any, *, task_id: str, prompt: str, test: str, entry_point: str, timeout_s: float) -> None:
    """Run the problem's ``check(candidate)`` against the program's ``entry_point``; raise on a wrong answer."""
    namespace: dict[str, Any] = {"__name__": "humaneval_test"}
    # Tests print now and then (HumanEval/129); the worker's stdout is not theirs.
    with contextlib.redirect_stdout(io.StringIO()):
        exec(_compiled(task_id, prompt, test), namespace)
        check = namespace.get("check")
        if not callable(check):
            raise RuntimeError(f"{task_id}: the test code defines no check()")
        candidate = _budgeted(program.function(entry_point), time.monotonic() + timeout_s)
        # Some tests call the function by its name (HumanEval/33), which the prompt bound to a bodiless stub.
        namespace[entry_point] = candidate
        try:
            check(candidate)
        except AssertionError as exc:
            raise AssertionError(f"{task_id}: {_assertion_text(exc)}") from None
        except Exception as exc:
            if _from_program(exc):
                raise
            # The test choked on what the program returned (len(None), indexing an int): a wrong answer.
            problem = f"{type(exc).__name__}: {exc}"
            raise AssertionError(f"{task_id}: the test failed on the program's output ({problem})") from None


def _from_program(exc: Exception) -> bool:
    from bench_runner_core.sandbox.remote import NotPlainData, ProgramError

    return isinstance(exc, ProgramError | NotPlainData)


_SOURCES: dict[str, list[str]] = {}


@functools.lru_cache(maxsize=256)
def _compiled(task_id: str, prompt: str, test: str) -> types.CodeType:
    # A worker grades many samples of the same problems; compiling the tests once is enough.
    source = prompt + "\n" + test
    filename = f"<{task_id} test>"
    _SOURCES[filename] = source.splitlines()
    return compile(source, filename, "exec")


def _assertion_text(exc: AssertionError) -> str:
    # The official test's message, when it has one, names the failing case; else the failing line.
    if exc.args and str(exc):
        return str(exc)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "assertion failed"
    lines = _SOURCES.get(tb.tb_frame.f_code.co_filename, [])
    if 0 < tb.tb_lineno <= len(lines):
        line = lines[tb.tb_lineno - 1].strip()
        return f"failed: {line[:300]}{_expected_actual(line, tb.tb_frame)}"
    return f"assertion failed at line {tb.tb_lineno} of the test"


_SHOWN = 200


def _expected_actual(line: str, frame: types.FrameType) -> str:
    """`` (expected X, got Y)`` for a failed ``assert call == value`` line, by evaluating both sides again
    in the failing test's frame (the program's answer arrives as plain data); empty when unknown."""
    try:
        test = ast.parse(line).body[0]
    except (SyntaxError, IndexError):  # an assertion spread over several lines
        return ""
    if not isinstance(test, ast.Assert):
        return ""
    check = test.test
    if not (isinstance(check, ast.Compare) and len(check.ops) == 1 and isinstance(check.ops[0], ast.Eq | ast.Is)):
        return ""
    from bench_runner_core.sandbox.remote import OutputLimit, ProgramTimeout

    try:
        actual, expected = (
            eval(compile(ast.Expression(side), "<assertion>", "eval"), frame.f_globals, dict(frame.f_locals))
            for side in (check.left, check.comparators[0])
        )
    except (Exception, ProgramTimeout, OutputLimit):  # the second call failed: the verdict stands, untold
        return ""
    return f" (expected {_short_repr(expected)}, got {_short_repr(actual)})"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def check_outputs(
    program: Any,
    *,
    task_id: str,
    track: str,
    entry_point: str,
    inputs: Sequence[Sequence[Any]],
    expected: Sequence[Any],
    time_limits: Sequence[float],
    atol: float,
    budget_s: float,
) -> None:
    """EvalPlus's check of one input set: stop at the first output that does not match the canonical one."""
    fn = program.function(entry_point)
    deadline = time.monotonic() + budget_s
    for index, (args, want) in enumerate(zip(inputs, expected, strict=True)):
        out = _budgeted(fn, deadline, time_limits[index])(*args)
        ok, atol = _matches(entry_point, args, out, want, atol)
        if not ok:
            raise AssertionError(f"{task_id} {track} input #{index}: wrong output")


def _matches(entry_point: str, args: Sequence[Any], out: Any, want: Any, atol: float) -> tuple[bool, float]:
    """EvalPlus's comparison of one output; returns the tolerance later inputs use, as EvalPlus does."""
    if entry_point == "find_zero":
        # Any root will do: the polynomial must vanish at the returned point.
        try:
            return abs(_poly(args[0], out)) <= atol, atol
        except Exception:
            return False, atol
    exact = out == want
    if atol == 0 and _is_floats(want):
        # EvalPlus switches to a tolerance on the first float output and keeps it for the rest of the set.
        atol = 1e-6
    if exact or atol == 0:
        return bool(exact), atol
    return _close(out, want, atol), atol


def _poly(xs: Sequence[Any], x: Any) -> float:
    return sum(coefficient * math.pow(x, power) for power, coefficient in enumerate(xs))


def _is_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple) and value:
        return all(isinstance(item, float) for item in value)
    return False


def _close(out: Any, want: Any, atol: float) -> bool:
    """``numpy.allclose(out, want, rtol=1e-07, atol=atol)`` after EvalPlus's type and length checks.

    Pure Python: numpy in a sandbox worker is a heavy import with threads of its own.
    """
    if type(out) is not type(want):
        return False
    if isinstance(want, list | tuple) and len(out) != len(want):
        return False
    return _allclose(out, want, atol)


def _allclose(out: Any, want: Any, atol: float) -> bool:
    if isinstance(want, list | tuple):
        return (
            isinstance(out, list | tuple)
            and len(out) == len(want)
            and all(_allclose(a, b, atol) for a, b in zip(out, want, strict=True))
        )
    numbers = (bool, int, float, complex)
    if type(out) not in numbers or type(want) not in numbers:
        return False
    if _is_special(out) or _is_special(want):
        # numpy: infinities match only themselves, nan matches nothing
        return bool(out == want)
    return abs(out - want) <= atol + 1e-07 * abs(want)


def _is_special(value: Any) -> bool:
    parts = (value.real, value.imag) if isinstance(value, complex) else (value,)
    return any(isinstance(part, float) and not math.isfinite(part) for part in parts)
