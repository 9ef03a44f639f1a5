"""How many sequences the batch decoder runs at once (``_sizing``): no model."""

from __future__ import annotations

from bench_runner_core.plugins.llama import _sizing


def test_default_is_the_samples_of_a_problem() -> None:
    mib = 2**20
    assert _sizing.plan_sequences(0, 10, mib, 100 * mib) == 10
    assert _sizing.plan_sequences(0, 1, mib, 100 * mib) == 4
    assert _sizing.plan_sequences(0, 100, mib, 100 * mib) == 16
    assert _sizing.plan_sequences(3, 10, mib, 100 * mib) == 3
    # each sequence has a cache of --ctx-size tokens: memory caps the count
    assert _sizing.plan_sequences(0, 8, 40 * mib, 100 * mib) == 2
    assert _sizing.plan_sequences(0, 8, 400 * mib, 100 * mib) == 1
