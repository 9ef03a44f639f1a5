"""Trusted comparison code the sandbox worker imports. Small on purpose: it runs outside the sandbox.

``compare_lines`` is the ``compare`` of stdin/stdout jobs; ``check_functional``
is the ``checker`` of LeetCode-style jobs. Both reproduce lcb_runner's
judgement (testing_util.py) on values that crossed from the untrusted
process as plain data.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

# How much of a value an assertion message quotes.
_SHOWN = 200


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(part) for part in line.split()]
    except (InvalidOperation, ValueError):
        return None


def compare_lines(expected: str, actual: str) -> bool:
    """Equal line by line after stripping; lines that differ as text must be equal as exact decimals."""
    want, got = _lines(expected), _lines(actual)
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if w == g:
            continue
        wd, gd = _decimals(w), _decimals(g)
        if wd is None or gd is None or wd != gd:
            return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN // 2] + " ... " + text[-_SHOWN // 2 :]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        # Tests with integers longer than Python's default 4300-digit cap; lcb_runner raises the cap too.
        if sys.get_int_max_str_digits() == 0:
            raise
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return json.loads(text)
        finally:
            sys.set_int_max_str_digits(old)


def _numbered(index: int, method: Any, args: list[Any]) -> Any:
    # The failing test's number goes into the verdict, so feedback can tell a public test from a hidden one.
    from bench_runner_core.sandbox.remote import ProgramError, ProgramTimeout, program_error

    try:
        return method(*args)
    except ProgramError as exc:
        raise program_error(exc.type_name, f"test {index}: {exc.message}", exc.traceback_tail) from None
    except ProgramTimeout as exc:
        raise ProgramTimeout(f"test {index}: {exc}" if str(exc) else f"test {index}: out of time") from None


def check_functional(
    program: Any,
    *,
    func_name: str,
    inputs: list[str],
    outputs: list[str],
    uses_class: bool,
    timeout_s: float | None = None,
) -> None:
    """Call ``func_name`` once per test on one ``Solution`` instance and compare as lcb_runner does.

    Each call gets the job's per-test limit (``Limits.test_timeout_s``) unless ``timeout_s`` is given.
    Each input line is one JSON argument. A top-level tuple counts as a list
    (expected values are JSON, so never tuples); everything else compares with
    ``==`` on plain data. Raises ``AssertionError`` naming the first failing test.
    """
    if uses_class:
        solution = program.instance("Solution")

        def method(*args: Any) -> Any:
            return solution.call(func_name, *args, timeout_s=timeout_s)
    else:
        function = program.function(func_name)

        def method(*args: Any) -> Any:
            return function(*args, timeout_s=timeout_s)

    for index, (arguments, expected_text) in enumerate(zip(inputs, outputs, strict=True)):
        args = [_loads(line) for line in arguments.split("\n")]
        expected = _loads(expected_text)
        got = _numbered(index, method, args)
        if type(got) is tuple:
            got = list(got)
        shown = f"{func_name}{_short(tuple(args))}"
        assert got == expected, f"test {index}: {shown} returned {_short(got)}, expected {_short(expected)}"
