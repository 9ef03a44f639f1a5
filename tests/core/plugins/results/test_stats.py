"""compare's statistics against scipy: the exact McNemar p-value and the paired bootstrap interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench_runner_core.plugins.results.stats import bootstrap
from bench_runner_core.stats import mcnemar_exact
from tests.fixtures.results import scipy_difference_interval


@pytest.mark.parametrize(("worse", "better"), [(0, 0), (0, 1), (1, 1), (3, 12), (30, 0), (17, 21), (5, 40), (250, 310)])
def test_mcnemar_exact_equals_scipy_binomtest(worse: int, better: int) -> None:
    expected = scipy_stats.binomtest(worse, worse + better, 0.5).pvalue if worse + better else 1.0
    assert mcnemar_exact(worse, better) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert mcnemar_exact(better, worse) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_paired_bootstrap_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(7)
    a = (rng.random(164) < 0.6).astype(float)
    b = np.where(rng.random(164) < 0.15, 1 - a, a)  # flip some answers: a paired change
    (ia, _ib), (diff,) = bootstrap([a, b], resamples=20_000, seed=3)
    assert diff.estimate == pytest.approx(b.mean() - a.mean())
    theirs = scipy_difference_interval(a, b, resamples=20_000, seed=11)
    # two independent Monte Carlo estimates of the same percentiles: equal within resampling noise
    assert diff.low == pytest.approx(theirs.low, abs=0.006)
    assert diff.high == pytest.approx(theirs.high, abs=0.006)
    single = scipy_stats.bootstrap(
        (a,), np.mean, n_resamples=20_000, method="percentile", random_state=np.random.default_rng(5)
    ).confidence_interval
    assert ia.low == pytest.approx(single.low, abs=0.006) and ia.high == pytest.approx(single.high, abs=0.006)


def test_bootstrap_is_seeded_and_identical_runs_give_a_zero_interval() -> None:
    scores = [[1, 0, 1, 1, 0.5] * 20, [1, 0, 1, 1, 0.5] * 20]
    first = bootstrap(scores, seed=1)
    assert bootstrap(scores, seed=1) == first
    (diff,) = first[1]
    assert (diff.estimate, diff.low, diff.high) == (0.0, 0.0, 0.0)
