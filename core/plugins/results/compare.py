"""``compare``: pass@1 of runs with intervals, paired differences against the first run, and the CI gate."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from bench_runner_core.api import BadInput
from bench_runner_core.stats import mcnemar_exact

from . import queries, stats
from .stats import Interval


@attrs.frozen(kw_only=True)
class RunScore:
    run_id: str
    benchmark: str
    model: str
    complete: bool
    problems: int
    pass_at_1: Interval


@attrs.frozen(kw_only=True)
class Change:
    """A problem whose score moved between the base run and another (a score is a pass fraction)."""

    problem_id: str
    base: float
    new: float


@attrs.frozen(kw_only=True)
class GroupDifference:
    problems: int
    base: float
    new: float
    difference: Interval


@attrs.frozen(kw_only=True)
class Difference:
    base: str
    new: str
    difference: Interval
    p_value: float
    significant: bool
    fixed: tuple[Change, ...]
    broken: tuple[Change, ...]
    breakdowns: Mapping[str, Mapping[str, GroupDifference]]


@attrs.frozen(kw_only=True)
class Comparison:
    runs: tuple[RunScore, ...]
    differences: tuple[Difference, ...]
    problems: int
    max_samples: int
    note: str
    resamples: int
    confidence: float
    seed: int


def compare(
    conn: sqlite3.Connection,
    run_ids: Sequence[str],
    *,
    resamples: int = stats.BOOTSTRAP_RESAMPLES,
    confidence: float = stats.CONFIDENCE,
    seed: int = stats.SEED,
) -> Comparison:
    """Compare runs on the problems they all have; every run after the first is paired with the first."""
    rows = [queries.get_run(conn, run_id) for run_id in run_ids]
    if len(rows) < 2:
        raise BadInput("compare needs at least two runs", "pass two run ids, or --campaign with two runs or more")
    ids = [r["run_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise BadInput("a run is named twice", "pass different runs")
    per_run = [queries.problem_scores(conn, run_id) for run_id in ids]
    shared = sorted(set.intersection(*(set(p) for p in per_run)), key=queries.natural_key)
    if not shared:
        raise BadInput("the runs have no problem in common", "compare runs of the same benchmark")
    sizes = [len(p) for p in per_run]
    note = (
        f"compared on the {len(shared)} problems all runs share ("
        + ", ".join(f"{r['run_id']}: {n}" for r, n in zip(rows, sizes, strict=True))
        + ")"
        if any(n != len(shared) for n in sizes)
        else f"compared on {len(shared)} problems"
    )
    scores = [[p[pid][1] / p[pid][0] for pid in shared] for p in per_run]
    options = {"resamples": resamples, "confidence": confidence, "seed": seed}
    intervals, differences = stats.bootstrap(scores, **options)
    attributes = queries.problem_attributes(conn, rows[0]["benchmark"], shared)
    return Comparison(
        runs=tuple(
            RunScore(
                run_id=r["run_id"],
                benchmark=r["benchmark"],
                model=r["model"],
                complete=r["state"] == "complete",
                problems=n,
                pass_at_1=interval,
            )
            for r, n, interval in zip(rows, sizes, intervals, strict=True)
        ),
        differences=tuple(
            _difference(ids[0], ids[i], shared, scores[0], scores[i], interval, attributes, options)
            for i, interval in enumerate(differences, 1)
        ),
        problems=len(shared),
        max_samples=max(p[pid][0] for p in per_run for pid in shared),
        note=note,
        **options,
    )


def _difference(
    base: str,
    new: str,
    shared: Sequence[str],
    a: Sequence[float],
    b: Sequence[float],
    interval: Interval,
    attributes: Mapping[str, Mapping[str, Any]],
    options: Mapping[str, Any],
) -> Difference:
    changes = [Change(problem_id=pid, base=x, new=y) for pid, x, y in zip(shared, a, b, strict=True) if x != y]
    fixed = tuple(c for c in changes if c.new > c.base)
    broken = tuple(c for c in changes if c.new < c.base)
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, pid in enumerate(shared):
        for facet, value in (attributes.get(pid) or {}).items():
            if value not in (None, ""):
                groups[facet][str(value)].append(index)
    breakdowns = {}
    for facet, values in sorted(groups.items()):
        if len(values) < 2 or len(values) > 20:  # one group repeats the total; many are ids, not facets
            continue
        breakdowns[facet] = {}
        for value, members in sorted(values.items()):
            pair = [[a[i] for i in members], [b[i] for i in members]]
            (base_i, new_i), (diff_i,) = stats.bootstrap(pair, **options)
            breakdowns[facet][value] = GroupDifference(
                problems=len(members), base=base_i.estimate, new=new_i.estimate, difference=diff_i
            )
    return Difference(
        base=base,
        new=new,
        difference=interval,
        p_value=mcnemar_exact(len(broken), len(fixed)),  # with n > 1 per problem: the exact sign test
        significant=interval.high < 0 or interval.low > 0,
        fixed=fixed,
        broken=broken,
        breakdowns=breakdowns,
    )


def gate(difference: Difference, max_drop: float = 0.0) -> bool:
    """True when the new run is significantly worse: the whole interval of the difference lies below -max_drop."""
    return difference.difference.high < -max_drop


def gate_line(comparison: Comparison, difference: Difference, max_drop: float) -> str:
    """One line for a CI log: FAIL or PASS, the two scores, the difference with its interval, the p-value."""
    scores = {r.run_id: r.pass_at_1.estimate for r in comparison.runs}
    d = difference.difference
    worse = gate(difference, max_drop)
    allowed = f" by more than the allowed {max_drop:.4f}" if max_drop else ""
    verdict = f"is significantly worse{allowed}" if worse else f"is not significantly worse{allowed}"
    return (
        f"bench_runner compare: {'FAIL' if worse else 'PASS'}: {difference.new} {verdict} than {difference.base}: "
        f"pass@1 {scores[difference.base]:.4f} -> {scores[difference.new]:.4f}, difference {d.estimate:+.4f} "
        f"({comparison.confidence:.0%} CI {d.low:+.4f} to {d.high:+.4f}), McNemar exact p={difference.p_value:.3g}, "
        f"{len(difference.broken)} broken, {len(difference.fixed)} fixed, {comparison.problems} problems"
    )


def render(comparison: Comparison, *, list_limit: int = 50) -> str:
    """The comparison as text for a terminal."""
    c = comparison
    level = f"{c.confidence:.0%}"
    lines = [
        f"{c.note}; {'1 sample' if c.max_samples == 1 else f'up to {c.max_samples} samples'} per problem",
        f"pass@1 with {level} CI (bootstrap over problems, {c.resamples} resamples, seed {c.seed})",
    ]
    for letter, run in zip(_letters(), c.runs, strict=False):
        i = run.pass_at_1
        mark = "" if run.complete else "  (incomplete run)"
        lines.append(f"  {letter}  {run.run_id}  {run.model}  {i.estimate:.4f}  [{i.low:.4f}, {i.high:.4f}]{mark}")
    for letter, d in zip(_letters()[1:], c.differences, strict=False):
        i = d.difference
        if d.significant:
            meaning = "significantly better" if i.low > 0 else "significantly worse"
        else:
            meaning = "no significant difference"
        lines.append(
            f"{letter} - A: {i.estimate:+.4f}  [{i.low:+.4f}, {i.high:+.4f}]  McNemar exact p = {d.p_value:.3g}  "
            f"{meaning}"
        )
        for name, changes in (("fixed", d.fixed), ("broken", d.broken)):
            shown = ", ".join(_change(ch, c.max_samples) for ch in changes[:list_limit])
            more = f", ... ({len(changes) - list_limit} more)" if len(changes) > list_limit else ""
            lines.append(f"  {name} ({len(changes)}): {shown or '-'}{more}")
        for facet, groups in d.breakdowns.items():
            cells = "  ".join(
                f"{value} {g.difference.estimate:+.3f} [{i.low:+.3f}, {i.high:+.3f}] ({g.problems})"
                for value, g in groups.items()
                for i in (g.difference,)
            )
            lines.append(f"  by {facet}: {cells}")
    return "\n".join(lines)


def _change(change: Change, max_samples: int) -> str:
    return change.problem_id if max_samples == 1 else f"{change.problem_id} ({change.base:.2f}->{change.new:.2f})"


def _letters() -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
