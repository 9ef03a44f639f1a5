"""95% confidence intervals: percentile bootstrap over test items and, with several seeds, over seeds.

Gains are paired: the values are per-item differences (optimized - baseline)
on the same test items, so the interval reflects the change, not the spread
of item difficulty. The resampling seed is fixed, so a result file reproduces.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs

RESAMPLES = 2000


@attrs.frozen(kw_only=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    @property
    def includes_zero(self) -> bool:
        return self.low <= 0.0 <= self.high


def bootstrap(groups: Sequence[Sequence[float]], *, level: float = 0.95) -> Interval:
    """The mean over every value of every group, with a two-level bootstrap interval (groups, then items).

    One group per seed; with a single group this is the plain bootstrap over items.
    """
    groups = [list(g) for g in groups if len(g)]
    values = [v for g in groups for v in g]
    if not values:
        return Interval(mean=0.0, low=0.0, high=0.0, n=0)
    rng = random.Random(0)
    means = []
    for _ in range(RESAMPLES):
        picked = rng.choices(groups, k=len(groups)) if len(groups) > 1 else groups
        sample = [v for g in picked for v in rng.choices(g, k=len(g))]
        means.append(sum(sample) / len(sample))
    means.sort()
    tail = (1.0 - level) / 2
    return Interval(
        mean=round(sum(values) / len(values), 6),
        low=round(means[int(tail * RESAMPLES)], 6),
        high=round(means[min(RESAMPLES - 1, int((1.0 - tail) * RESAMPLES))], 6),
        n=len(values),
    )
