"""Grading through a real SandboxPool, including the programs lcb_runner's in-process harness gets wrong."""

from __future__ import annotations

import pytest

from bench_runner import Problem
from bench_runner_lcb import data, grading
from bench_runner_lcb.benchmark import LiveCodeBench


@pytest.fixture(scope="module")
def bench() -> LiveCodeBench:
    return LiveCodeBench(data.Selection(), test_timeout_s=2.0)


def stdin_problem(*tests: tuple[str, str]) -> Problem:
    return Problem(id="stdin_p", data={"tests": tests, "func_name": None, "starter_code": ""})


def functional_problem(func_name: str, *tests: tuple[str, str]) -> Problem:
    return Problem(id="func_p", data={"tests": tests, "func_name": func_name, "starter_code": "class Solution:"})


SUM_LOOP = "for _ in range(int(input())):\n    print(sum(map(int, input().split())))\n"
SUM = stdin_problem(("2\n1 2\n3 4\n", "3\n7\n"), ("1\n10 -5\n", "5\n"))


@pytest.mark.parametrize(
    "program",
    [
        # implicit imports: sys, stdin names and typing come from the prelude, as in lcb_runner
        "t = int(input())\nfor _ in range(t):\n    a, b = map(int, sys.stdin.readline().split())\n    print(a + b)\n",
        "x: List[int] = []\nt = int(input())\nfor _ in range(t):\n    print(sum(map(int, stdin.readline().split())))\n",
        # the ways to read stdin that lcb_runner's mocked stdin gets wrong
        "t = int(sys.stdin.readline())\nrest = sys.stdin.read().split()\n"
        "for i in range(t):\n    print(int(rest[2 * i]) + int(rest[2 * i + 1]))\n",
        "import sys\nlines = [line for line in sys.stdin]\n"
        "for line in lines[1:]:\n    print(sum(map(int, line.split())))\n",
        "import sys\nlines = sys.stdin.readlines()\nfor line in lines[1:]:\n    print(sum(map(int, line.split())))\n",
        "import sys\ndata = sys.stdin.buffer.read().split()\nfor i in range(int(data[0])):\n"
        "    print(int(data[1 + 2 * i]) + int(data[2 + 2 * i]))\n",
        "data = open(0).read().split()\nfor i in range(int(data[0])):\n"
        "    print(int(data[1 + 2 * i]) + int(data[2 + 2 * i]))\n",
        # a top-level `global` and a helper writing it
        "total = 0\ndef add(v):\n    global total\n    total = v\nglobal seen\nseen = 1\n"
        "for _ in range(int(input())):\n    add(sum(map(int, input().split())))\n    print(total)\n",
        # output printed by a thread nobody joins
        "import threading\ndef work():\n    for _ in range(int(input())):\n"
        "        print(sum(map(int, input().split())))\nthreading.Thread(target=work).start()\n",
        # a __future__ import must stay first, before the implicit imports
        "from __future__ import annotations\n" + SUM_LOOP,
        # exit after printing, as competitive programmers do
        SUM_LOOP + "exit()\n",
    ],
)
def test_correct_stdin_programs_pass(pool: object, bench: LiveCodeBench, program: str) -> None:
    verdict = bench.grade(SUM, program, pool)
    assert verdict.status == "passed", verdict.detail
    assert (verdict.tests_passed, verdict.tests_total) == (2, 2)


def test_input_keeps_the_interpreters_behaviour(pool: object, bench: LiveCodeBench) -> None:
    # the prelude's input() skips only the per-line flush; prompt, newline stripping and EOF are as ever
    echo = stdin_problem(("x\r\ny", "> x\r\ny\neof"))
    program = "print(input('> '))\nprint(input())\ntry:\n    input()\nexcept EOFError:\n    print('eof')\n"
    verdict = bench.grade(echo, program, pool)
    assert verdict.status == "passed", verdict.detail


def test_lines_compare_stripped_then_as_exact_decimals(pool: object, bench: LiveCodeBench) -> None:
    half = stdin_problem(("", "0.5000\n1 2\n"))
    assert bench.grade(half, "print('  0.5 ')\nprint('1   2')\n\n\n", pool).passed
    assert bench.grade(half, "print('5e-1')\nprint('1.0 2.00')\n", pool).passed
    assert bench.grade(half, "print('0.50001')\nprint('1 2')\n", pool).status == "failed"
    assert bench.grade(half, "print('0.5')\nprint('1 2')\nprint()\nprint('x')\n", pool).status == "failed"
    assert bench.grade(half, "print('0.5 1 2')\n", pool).status == "failed"


def test_stops_at_the_first_failing_test(pool: object, bench: LiveCodeBench) -> None:
    problem = stdin_problem(("1\n", "1\n"), ("2\n", "4\n"), ("3\n", "9\n"))
    verdict = bench.grade(problem, "n = int(input())\nprint(n if n < 2 else 0)\n", pool)
    assert verdict.status == "failed"
    assert verdict.tests_passed == 1


def test_a_slow_test_times_out_at_the_per_test_limit(pool: object) -> None:
    quick = LiveCodeBench(data.Selection(), test_timeout_s=0.5)
    verdict = quick.grade(stdin_problem(("1\n", "1\n")), "while True:\n    pass\n", pool)
    assert verdict.status == "timeout"


def test_errors_and_empty_programs(pool: object, bench: LiveCodeBench) -> None:
    assert bench.grade(SUM, "raise ValueError('boom')\n", pool).status == "error"
    assert bench.grade(SUM, "   \n", pool).status == "failed"
    untestable = bench.grade(stdin_problem(), "print(1)\n", pool)
    assert untestable.status == "error" and "no tests" in untestable.detail


PAIR = functional_problem("pair", ("[1, 2]\n3", "[1, 2, 3]"), ("[]\n0", "[0]"))


@pytest.mark.parametrize(
    "program",
    [
        "class Solution:\n    def pair(self, nums: List[int], k: int) -> List[int]:\n        return nums + [k]\n",
        # a tuple at the top level counts as the list the JSON expected value decodes to, as in lcb_runner
        "class Solution:\n    def pair(self, nums, k):\n        return tuple(nums) + (k,)\n",
        # no class Solution: lcb_runner calls a module-level function of that name
        "def pair(nums, k):\n    return [*nums, k]\n",
        # a __future__ import still comes first, with the implicit imports in scope
        "from __future__ import annotations\nclass Solution:\n"
        "    def pair(self, nums: List[int], k: int) -> List[int]:\n        return [*nums, k]\n",
    ],
)
def test_functional_programs_that_pass(pool: object, bench: LiveCodeBench, program: str) -> None:
    verdict = bench.grade(PAIR, program, pool)
    assert verdict.status == "passed", verdict.detail


def test_functional_answers_compare_as_plain_data(pool: object, bench: LiveCodeBench) -> None:
    nested = functional_problem("f", ("1", "[[1, 2]]"))
    assert bench.grade(nested, "class Solution:\n    def f(self, x):\n        return [[1, 2]]\n", pool).passed
    # below the top level a tuple is not a list, as in lcb_runner
    assert (
        bench.grade(nested, "class Solution:\n    def f(self, x):\n        return [(1, 2)]\n", pool).status == "failed"
    )
    wrong = bench.grade(PAIR, "class Solution:\n    def pair(self, nums, k):\n        return nums\n", pool)
    assert wrong.status == "failed" and "test 0" in wrong.detail
    liar = (
        "class Any:\n    def __eq__(self, other):\n        return True\n"
        "class Solution:\n    def pair(self, nums, k):\n        return Any()\n"
    )
    assert not bench.grade(PAIR, liar, pool).passed
    assert (
        bench.grade(PAIR, "class Solution:\n    def pair(self, nums, k):\n        raise KeyError(k)\n", pool).status
        == "error"
    )


def test_one_instance_serves_every_test(pool: object, bench: LiveCodeBench) -> None:
    counting = functional_problem("tick", ("0", "1"), ("0", "2"), ("0", "3"))
    program = (
        "class Solution:\n    calls = 0\n    def tick(self, x):\n        self.calls += 1\n        return self.calls\n"
    )
    assert bench.grade(counting, program, pool).passed


def test_a_functional_call_times_out(pool: object) -> None:
    quick = LiveCodeBench(data.Selection(), test_timeout_s=0.5)
    program = "class Solution:\n    def pair(self, nums, k):\n        while True:\n            pass\n"
    assert quick.grade(PAIR, program, pool).status == "timeout"


def test_program_cap_bounds_a_whole_sample() -> None:
    assert grading.program_cap_s(1, 6.0) == 12.0
    assert grading.program_cap_s(100, 6.0) == grading.MAX_PROGRAM_S
    assert grading.job_for(SUM, "print(1)", 6.0).limits.timeout_s == 18.0


def test_tracebacks_name_the_programs_own_lines(pool: object, bench: LiveCodeBench) -> None:
    verdict = bench.grade(SUM, "x = 1\n\nraise ValueError('boom')\n", pool)
    assert verdict.status == "error"
    assert 'File "<program>", line 3' in verdict.detail, verdict.detail
