"""Answer parsers and metrics on replies shaped like real model output."""

from __future__ import annotations

import pytest

from bench_runner_optimizers import metrics


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("48 + 24 = 72.\nThe answer is 72.", "72"),
        ("So she earned $1,200 in total.", "1200"),
        ("#### 10", "10"),
        ("The answer is 3.50 dollars, since 7/2 = 3.5", "3.5"),
        ("Answer: -4", "-4"),
        ("no number here", None),
        ("<think>maybe 5</think>The answer is 6", "6"),
    ],
)
def test_parse_number(reply: str, expected: str | None) -> None:
    assert metrics.parse_number(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("The answer is (B).", "B"),
        ("Answer: C", "C"),
        ("(D) because plants need light", "D"),
        ("A", "A"),
        ("I think it is (A), no wait, (C)", "C"),
        ("nothing", None),
    ],
)
def test_parse_choice(reply: str, expected: str | None) -> None:
    assert metrics.parse_choice(reply) == expected


def test_token_f1_is_hotpotqa_f1() -> None:
    assert metrics.token_f1("the Eiffel Tower", "Eiffel Tower") == 1.0
    assert metrics.token_f1("Paris France", "Paris") == pytest.approx(2 / 3)
    assert metrics.token_f1("yes", "no") == 0.0
    assert metrics.token_f1("no", "no") == 1.0


def test_exact_match_normalises() -> None:
    assert metrics.exact_match("The Beatles!", "beatles")
    assert not metrics.exact_match("Beatles band", "beatles")


def test_math_answers() -> None:
    assert metrics.last_boxed("so $\\boxed{\\frac{1}{2}}$.") == "\\frac{1}{2}"
    assert metrics.last_boxed("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}") == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert metrics.math_match("\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}")
    assert metrics.math_match("The answer is 10.0", "10")
    assert not metrics.math_match("\\boxed{3}", "4")
