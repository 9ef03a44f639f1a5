"""Turning a program and a problem's tests into a sandbox job, and timing it like lcb_runner.

Programs run for real: stdin/stdout problems as a script with a real stdin,
functional problems through a trusted checker that calls the program across
a process boundary. Both get the imports lcb_runner's harness gives every
program implicitly, so a program that relies on them (``input = sys.stdin...``
without ``import sys``, ``List[int]`` without ``from typing import List``)
behaves as it does there.
"""

from __future__ import annotations

from bench_runner import CheckJob, Limits, Problem, Sandbox, StdioCase, StdioJob, Verdict

#: lcb_runner's per-test timeout, in seconds
DEFAULT_TEST_TIMEOUT_S = 6.0
#: no sample may run longer than this in total, however many tests it has
MAX_PROGRAM_S = 60.0

# The modules lcb_runner star-imports, in its order (builtins after the others, so that e.g.
# math.pow does not shadow pow), then imports by name; its recursion limit and int-digit cap.
_STAR_IMPORTS = (
    "string",
    "re",
    "datetime",
    "collections",
    "heapq",
    "bisect",
    "copy",
    "math",
    "random",
    "statistics",
    "itertools",
    "functools",
    "operator",
    "io",
    "sys",
    "json",
    "builtins",
    "typing",
)
_NAMED_IMPORTS = tuple(m for m in _STAR_IMPORTS if m not in ("builtins", "typing"))

# ``input()`` as the interpreter's, minus its flush of stdout before every line: with stdout on a pipe
# that flush is a write per input line, which makes a 2e5-line read three times slower than the
# reading itself. Output is only read after the program ends, so the flushes change nothing else.
_INPUT = (
    "def input(prompt=''):\n"
    "    if prompt:\n"
    "        sys.stdout.write(str(prompt))\n"
    "    line = sys.stdin.readline()\n"
    "    if not line:\n"
    "        raise EOFError('EOF when reading a line')\n"
    "    return line[:-1] if line[-1:] == '\\n' else line\n"
)

# Run in the program's module before it (a stdio job runs it once for all its cases).
PRELUDE = (
    "; ".join(
        [f"from {m} import *" for m in _STAR_IMPORTS]
        + [f"import {m}" for m in _NAMED_IMPORTS]
        + ["sys.setrecursionlimit(50000)", "sys.set_int_max_str_digits(50000)", f"exec({_INPUT!r})"]
    )
    + "\n"
)

COMPARE = "bench_runner_lcb.checks:compare_lines"
CHECKER = "bench_runner_lcb.checks:check_functional"


def program_cap_s(n_tests: int, test_timeout_s: float) -> float:
    """The whole-program wall clock: a test's timeout per test plus one, at most ``MAX_PROGRAM_S``."""
    return min(test_timeout_s * (n_tests + 1), MAX_PROGRAM_S)


def job_for(problem: Problem, program: str, test_timeout_s: float) -> StdioJob | CheckJob:
    tests = problem.data["tests"]
    limits = Limits(timeout_s=program_cap_s(len(tests), test_timeout_s), test_timeout_s=test_timeout_s)
    func_name = problem.data.get("func_name")
    if func_name:
        return CheckJob(
            source=program,
            prelude=PRELUDE,
            checker=CHECKER,
            kwargs={
                "func_name": func_name,
                "inputs": [i for i, _ in tests],
                "outputs": [o for _, o in tests],
                # lcb_runner's own test: a program mentioning `class Solution` is called through an instance.
                "uses_class": "class Solution" in program,
            },
            limits=limits,
        )
    return StdioJob(
        source=program,
        prelude=PRELUDE,
        cases=tuple(StdioCase(input=i, expected=o) for i, o in tests),
        compare=COMPARE,
        stop_at_first_failure=True,
        limits=limits,
    )


def grade(problem: Problem, program: str, sandbox: Sandbox, test_timeout_s: float) -> Verdict:
    """Run all tests (public first) until the first failure; a problem without tests is an error."""
    tests = problem.data["tests"]
    if not tests:
        return Verdict(status="error", detail=f"{problem.id} has no tests to grade against", tests_total=0)
    if not program.strip():
        return Verdict(status="failed", detail="no code in the completion", tests_passed=0, tests_total=len(tests))
    return sandbox.run(job_for(problem, program, test_timeout_s))
