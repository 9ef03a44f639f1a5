"""Bootstrap intervals: they cover the mean, narrow with more items, and flag a zero gain."""

from __future__ import annotations

from bench_runner_optimizers.stats import bootstrap


def test_interval_brackets_the_mean_and_is_reproducible() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    first = bootstrap([values])
    assert first.low <= first.mean == 0.625 <= first.high
    assert first == bootstrap([values])
    assert first.n == 8


def test_more_items_give_a_narrower_interval() -> None:
    few = bootstrap([[1.0, 0.0] * 5])
    many = bootstrap([[1.0, 0.0] * 200])
    assert many.high - many.low < few.high - few.low


def test_gain_flags() -> None:
    assert bootstrap([[0.0, 1.0, -1.0, 0.0]]).includes_zero
    assert not bootstrap([[1.0] * 30 + [0.0] * 2]).includes_zero


def test_constant_values_and_no_values() -> None:
    same = bootstrap([[0.5] * 4])
    assert (same.low, same.mean, same.high) == (0.5, 0.5, 0.5)
    assert bootstrap([]).n == 0


def test_seeds_widen_the_interval_when_they_disagree() -> None:
    one = bootstrap([[1.0] * 10 + [0.0] * 10])
    two = bootstrap([[1.0] * 10, [0.0] * 10])
    assert two.mean == one.mean and two.high - two.low > one.high - one.low
