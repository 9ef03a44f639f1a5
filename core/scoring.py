"""pass@k and the aggregates of a run summary. Pure functions of the sample records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import attrs

from bench_runner_core.records import (
    Comparison,
    ModeResults,
    ModeSummary,
    Problem,
    ProblemResult,
    SampleResult,
    Summary,
)
from bench_runner_core.stats import mcnemar_exact, paired_difference_ci

KS = (1, 5, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 0 < k <= n:
        raise ValueError(f"pass@{k} needs 0 <= c <= n and 0 < k <= n (n={n}, c={c})")
    if n - c < k:
        return 1.0
    # a running product stays exact enough and avoids huge binomials for large n
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def mean_pass_at_k(counts: Iterable[tuple[int, int]], ks: Sequence[int] = KS) -> dict[str, float]:
    """``{"pass@k": mean}`` over problems given as ``(n, c)``, for every k no larger than every n."""
    counts = list(counts)
    if not counts:
        return {}
    smallest = min(n for n, _ in counts)
    return {f"pass@{k}": sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in ks if k <= smallest}


def problem_results(problems: Sequence[Problem], samples: Iterable[SampleResult]) -> tuple[ProblemResult, ...]:
    by_problem: dict[str, list[SampleResult]] = defaultdict(list)
    for sample in samples:
        by_problem[sample.problem_id].append(sample)
    out = []
    for problem in problems:
        mine = by_problem.get(problem.id, [])
        if not mine:
            continue
        passed = sum(s.verdict.passed for s in mine)
        out.append(
            ProblemResult(
                problem_id=problem.id,
                n=len(mine),
                passed=passed,
                success=passed > 0,
                iterations=sum(len(s.attempts) for s in mine),
                cost=sum(_cost(s) for s in mine),
                attributes=problem.attributes,
                statuses=Counter(s.verdict.status for s in mine),
            )
        )
    return tuple(out)


def summarize(
    problems: Sequence[Problem], samples: Sequence[SampleResult]
) -> tuple[tuple[ProblemResult, ...], Summary]:
    """Per-problem results and the run's aggregates (pass@k, tracks, breakdowns, costs)."""
    results = problem_results(problems, samples)
    counts = [(r.n, r.passed) for r in results]
    tracks: dict[str, dict[str, float]] = {}
    track_names = sorted({name for s in samples for name in s.verdict.tracks})
    for name in track_names:
        per_problem: dict[str, list[bool]] = defaultdict(list)
        for s in samples:
            per_problem[s.problem_id].append(bool(s.verdict.tracks.get(name, False)))
        tracks[name] = mean_pass_at_k((len(v), sum(v)) for v in per_problem.values())
    breakdowns: dict[str, dict[str, float]] = {}
    facets = sorted({key for r in results for key in r.attributes})
    for facet in facets:
        groups: dict[str, list[ProblemResult]] = defaultdict(list)
        for r in results:
            if facet in r.attributes:
                groups[str(r.attributes[facet])].append(r)
        breakdowns[facet] = {
            value: mean_pass_at_k((r.n, r.passed) for r in group).get("pass@1", 0.0)
            for value, group in sorted(groups.items())
        }
    costs = [_cost(s) for s in samples]
    successes = sum(s.verdict.passed for s in samples)
    return results, Summary(
        total_problems=len(results),
        total_samples=len(samples),
        successes=successes,
        success_rate=successes / len(samples) if samples else 0.0,
        pass_at_k=mean_pass_at_k(counts),
        tracks=tracks,
        breakdowns=breakdowns,
        statuses=dict(Counter(s.verdict.status for s in samples)),
        total_cost=sum(costs),
        avg_cost=sum(costs) / len(samples) if samples else 0.0,
        avg_iterations=sum(len(s.attempts) for s in samples) / len(samples) if samples else 0.0,
        prompt_tokens=sum(a.completion.prompt_tokens or 0 for s in samples for a in s.attempts),
        completion_tokens=sum(a.completion.completion_tokens or 0 for s in samples for a in s.attempts),
    )


def _cost(sample: SampleResult) -> float:
    """What all of a sample's attempts cost (0 where the backend reports no cost)."""
    return sum(a.completion.cost or 0.0 for a in sample.attempts)


def mode_results(problems: Sequence[Problem], samples: Sequence[SampleResult]) -> ModeResults:
    """Per-problem results and their aggregates over problems (a problem succeeds if a sample passed)."""
    results = problem_results(problems, samples)
    n = len(results)
    successes = sum(r.success for r in results)
    total_cost = sum(r.cost for r in results)
    return ModeResults(
        results=results,
        summary=ModeSummary(
            total_problems=n,
            successes=successes,
            success_rate=successes / n if n else 0.0,
            total_cost=total_cost,
            avg_cost=total_cost / n if n else 0.0,
            avg_iterations=sum(r.iterations for r in results) / n if n else 0.0,
        ),
    )


def compare_modes(
    problems: Sequence[Problem], samples: Sequence[SampleResult]
) -> tuple[ModeResults, ModeResults, Comparison]:
    """Zero-shot (every sample's first attempt) against iterative (all attempts) on the same samples."""
    zero = mode_results(problems, [attrs.evolve(s, attempts=s.attempts[:1]) for s in samples])
    iterative = mode_results(problems, samples)
    before = {r.problem_id: r.success for r in zero.results}
    pairs = Counter((before[r.problem_id], r.success) for r in iterative.results)
    both, fixed, broken, neither = pairs[True, True], pairs[False, True], pairs[True, False], pairs[False, False]
    z, i = zero.summary, iterative.summary
    return (
        zero,
        iterative,
        Comparison(
            success_rate_improvement=i.success_rate - z.success_rate,
            success_rate_improvement_ci95=paired_difference_ci(both, fixed, broken, neither),
            mcnemar_p_value=mcnemar_exact(fixed, broken),
            fixed=fixed,
            broken=broken,
            cost_difference=i.avg_cost - z.avg_cost,
            iteration_difference=i.avg_iterations - z.avg_iterations,
        ),
    )
