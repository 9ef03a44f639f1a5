"""Paired statistics for comparing two scorings of the same problems. Exact formulas, no dependencies.

Tested against scipy (``tests/core/test_stats.py``); the lead may later share
these with the ``compare`` command's bootstrap intervals.
"""

from __future__ import annotations

import math
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of ``fixed`` vs ``broken`` discordant pairs at 1/2."""
    if fixed < 0 or broken < 0:
        raise ValueError("counts must be non-negative")
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(fixed, broken) + 1))
    return min(1.0, 2 * tail / 2**n)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    scale = 1 + z * z / n
    center = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def paired_difference_ci(both: int, fixed: int, broken: int, neither: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's (1998) hybrid score interval for p1 - p2 of paired outcomes (method 10, with his
    corrected correlation).

    ``fixed``: only the second scoring (p1) succeeded; ``broken``: only the
    first (p2). Unlike the Wald interval it stays inside [-1, 1] and keeps its
    coverage for small samples and rates near 0 or 1.
    """
    n = both + fixed + broken + neither
    if n == 0:
        return -1.0, 1.0
    p1, p2 = (both + fixed) / n, (both + broken) / n
    l1, u1 = wilson(both + fixed, n, z)
    l2, u2 = wilson(both + broken, n, z)
    margins = (both + fixed) * (broken + neither) * (both + broken) * (fixed + neither)
    # Newcombe's corrected correlation: uncorrected, it is 1 whenever no outcome changed, and the interval
    # collapses to [0, 0] however few problems there are.
    concordant, discordant = both * neither, fixed * broken
    if concordant > discordant + n / 2:
        concordant -= n / 2
    elif concordant >= discordant:
        concordant = discordant
    phi = (concordant - discordant) / math.sqrt(margins) if margins else 0.0
    diff = p1 - p2
    lower = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    upper = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, diff - lower), min(1.0, diff + upper)
