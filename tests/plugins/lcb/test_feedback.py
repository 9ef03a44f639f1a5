"""Self-repair feedback in lcb_runner's words, from failures graded in a real sandbox; hidden tests stay hidden."""

from __future__ import annotations

import pytest

from bench_runner import Problem
from bench_runner_core.attempts import program_frames
from bench_runner_lcb import data
from bench_runner_lcb.benchmark import LiveCodeBench
from bench_runner_lcb.feedback import truncate

SUM = Problem(
    id="sum",
    data={
        "tests": (("2\n1 2\n3 4\n", "3\n7\n"), ("1\n10 -5\n", "5\n"), ("1\n7 7\n", "14\n")),
        "public_tests": 2,
        "func_name": None,
        "starter_code": "",
    },
)
TWICE = Problem(
    id="twice",
    data={
        "tests": (("3", "6"), ("100", "200")),
        "public_tests": 1,
        "func_name": "twice",
        "starter_code": "class Solution:",
    },
)


@pytest.fixture(scope="module")
def bench() -> LiveCodeBench:
    return LiveCodeBench(data.Selection(), test_timeout_s=2.0)


def told(bench: LiveCodeBench, pool: object, problem: Problem, program: str) -> str:
    verdict = bench.grade(problem, program, pool)  # type: ignore[arg-type]
    assert not verdict.passed
    return program_frames(bench.feedback(problem, program, verdict))


def test_a_wrong_answer_on_a_public_test_shows_input_expected_and_output(bench, pool) -> None:  # type: ignore[no-untyped-def]
    text = told(bench, pool, SUM, "for _ in range(int(input())):\n    print(sum(map(int, input().split())) + 1)\n")
    assert text == (
        "Your program is wrong: it gave a wrong answer.\nInput: 2\n1 2\n3 4\n\nYour output: 4\n8\n\nExpected: 3\n7\n"
    )


def test_a_failure_on_a_hidden_test_tells_its_kind_only(bench, pool) -> None:  # type: ignore[no-untyped-def]
    text = told(
        bench,
        pool,
        SUM,
        "for _ in range(int(input())):\n    a, b = map(int, input().split())\n    print(a + b if a != 7 else 0)\n",
    )
    assert text == "Your program is wrong: it gave a wrong answer on a hidden test."
    functional = told(
        bench, pool, TWICE, "class Solution:\n    def twice(self, x):\n        return 2 * x if x < 50 else 0\n"
    )
    assert "200" not in functional and "100" not in functional and "hidden test" in functional


def test_a_runtime_error_shows_the_programs_own_traceback(bench, pool) -> None:  # type: ignore[no-untyped-def]
    text = told(bench, pool, TWICE, "class Solution:\n    def twice(self, x):\n        return helper(x)\n")
    assert text.startswith("Your program is wrong: it raised an error.\nInput: 3\nExpected: 6\n")
    assert "NameError" in text and "helper" in text
    assert "sandbox" not in text and "checker" not in text and 'File "/' not in text


def test_a_syntax_error_is_a_compilation_error(bench, pool) -> None:  # type: ignore[no-untyped-def]
    text = told(bench, pool, SUM, "print(\n")
    assert text.startswith("Your program does not compile:\n")
    assert "SyntaxError" in text


def test_long_values_are_cut_like_lcb_runner() -> None:
    assert truncate("x" * 300) == "x" * 300
    cut = truncate("a" * 200 + "b" * 200)
    assert cut == "a" * 150 + "...(truncated) ..." + "b" * 150
