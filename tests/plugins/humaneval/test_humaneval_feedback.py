"""Self-repair feedback from real sandboxed grading: the failing test with expected and actual, or the error."""

from __future__ import annotations

import attrs
import pytest

from bench_runner import Completion
from bench_runner_core.attempts import program_frames
from bench_runner_core.sandbox.pool import SandboxPool
from bench_runner_humaneval.benchmark import HumanEval


@pytest.fixture(scope="module")
def humaneval() -> HumanEval:
    return HumanEval()


def told(bench: HumanEval, pool: SandboxPool, task: str, body: str) -> tuple[str, str]:
    problem = next(p for p in bench.load_problems() if p.id == task)
    program = bench.parse(problem, Completion(text=body), "completion")
    verdict = bench.grade(problem, program, pool)
    assert not verdict.passed
    detail = program_frames(verdict.detail, program)
    return detail, bench.feedback(problem, program, attrs.evolve(verdict, detail=detail))


def test_a_wrong_answer_names_the_test_the_expected_and_the_actual_value(humaneval, pool) -> None:  # type: ignore[no-untyped-def]
    detail, text = told(humaneval, pool, "HumanEval/0", "    return None\n")
    assert "(expected True, got None)" in detail
    assert text == (
        "The function failed this test:\nassert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n"
        "Expected: True\nActual: None"
    )


def test_an_exception_shows_the_programs_frames_only(humaneval, pool) -> None:  # type: ignore[no-untyped-def]
    detail, text = told(humaneval, pool, "HumanEval/2", "    return helper(number)\n")
    assert text.startswith("The function raised an error:\n")
    assert "NameError" in text and 'File "<program>"' in text and "return helper(number)" in text
    for harness in ("server.py", "sandbox", 'File "/'):
        assert harness not in detail and harness not in text


def test_a_timeout_says_so(humaneval, pool) -> None:  # type: ignore[no-untyped-def]
    _, text = told(humaneval, pool, "HumanEval/2", "    while True:\n        pass\n")
    assert text.startswith("The function did not finish in time")
