"""Paired statistics: exact formulas checked against scipy."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from bench_runner_core.stats import mcnemar_exact, paired_difference_ci, wilson


@pytest.mark.parametrize("fixed", [0, 1, 2, 5, 9, 30])
@pytest.mark.parametrize("broken", [0, 1, 3, 7, 30])
def test_exact_mcnemar_is_the_two_sided_binomial_test_of_the_discordant_pairs(fixed: int, broken: int) -> None:
    expected = 1.0 if fixed + broken == 0 else binomtest(fixed, fixed + broken, 0.5).pvalue
    assert mcnemar_exact(fixed, broken) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (3, 10), (7, 20), (20, 20), (1, 164), (150, 164)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "table", [(36, 12, 2, 0), (0, 2, 0, 1), (5, 0, 0, 5), (10, 3, 3, 10), (0, 0, 0, 7), (1, 20, 0, 0)]
)
def test_paired_interval_holds_the_difference_and_stays_in_range(table: tuple[int, int, int, int]) -> None:
    _, fixed, broken, _ = table
    n = sum(table)
    low, high = paired_difference_ci(*table)
    assert -1.0 <= low <= (fixed - broken) / n <= high <= 1.0
    assert high - low > 0


def test_paired_interval_narrows_with_more_problems_and_flips_with_the_sign() -> None:
    small = paired_difference_ci(3, 4, 1, 2)
    large = paired_difference_ci(30, 40, 10, 20)
    assert large[1] - large[0] < small[1] - small[0]
    mirrored = paired_difference_ci(3, 1, 4, 2)
    assert mirrored == pytest.approx((-small[1], -small[0]))


def test_a_clear_improvement_excludes_zero_and_no_change_includes_it() -> None:
    assert paired_difference_ci(10, 30, 0, 60)[0] > 0
    low, high = paired_difference_ci(20, 5, 5, 20)
    assert low < 0 < high
