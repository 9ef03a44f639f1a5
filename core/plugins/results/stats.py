"""The statistics behind ``compare``: a seeded paired bootstrap over problems and an exact McNemar test.

Each problem contributes one score per run: its pass fraction (passed samples / samples), which is
0 or 1 with one sample per problem. pass@1 is the mean score. Resampling problems (not samples)
keeps the pairing: every run is scored on the same resampled problems.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

BOOTSTRAP_RESAMPLES = 10_000
CONFIDENCE = 0.95
SEED = 0


@attrs.frozen(kw_only=True)
class Interval:
    estimate: float
    low: float
    high: float


def bootstrap(
    scores: Sequence[Sequence[float]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[list[Interval], list[Interval]]:
    """Percentile intervals for each row's mean, and for each row's mean minus row 0's (paired).

    ``scores`` is runs x problems. Returns (one interval per run, one difference per run after the
    first). The same seed gives the same intervals.
    """
    import numpy as np

    matrix = np.asarray(scores, dtype=float)
    runs, problems = matrix.shape
    if problems == 0:
        raise ValueError("no problems to resample")
    diffs = matrix[1:] - matrix[0]
    rng = np.random.default_rng(seed)
    means = np.empty((runs, resamples))
    diff_means = np.empty((runs - 1, resamples))
    # resample in chunks so 10,000 resamples of 10,000 problems stay within a few hundred MB
    chunk = max(1, min(resamples, 4_000_000 // problems))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picks = rng.integers(0, problems, size=(size, problems))
        means[:, start : start + size] = matrix[:, picks].mean(axis=2)
        if runs > 1:
            diff_means[:, start : start + size] = diffs[:, picks].mean(axis=2)
    alpha = (1 - confidence) / 2
    tails = [alpha * 100, (1 - alpha) * 100]

    def interval(point: float, draws: np.ndarray) -> Interval:
        low, high = np.percentile(draws, tails)
        return Interval(estimate=float(point), low=float(low), high=float(high))

    return (
        [interval(matrix[i].mean(), means[i]) for i in range(runs)],
        [interval(diffs[i].mean(), diff_means[i]) for i in range(runs - 1)],
    )


__all__ = ["Interval", "bootstrap"]
