"""``compare`` on runs written directly: different problem sets, several samples per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_runner_core.plugins.results import compare, db
from bench_runner_core.records import Problem
from tests.fixtures.results import attempt, write_run


def test_runs_on_different_problem_sets_compare_on_their_intersection(tmp_path: Path) -> None:
    problems = [Problem(id=f"p{i}") for i in range(10)]
    write_run(tmp_path, "bench_aaaaaaaa_20261101_100000", problems=problems,
              attempts={(p.id, 0): [attempt("passed")] for p in problems})  # fmt: skip
    later = problems[4:]
    write_run(tmp_path, "bench_bbbbbbbb_20261101_100000", problems=later,
              attempts={(p.id, 0): [attempt("failed" if p.id == "p9" else "passed")] for p in later})  # fmt: skip
    result = compare.compare(db.open_db(tmp_path), ["bench_aaaaaaaa", "bench_bbbbbbbb"])
    assert result.problems == 6
    assert result.note.startswith("compared on the 6 problems all runs share")
    assert "bench_aaaaaaaa_20261101_100000: 10" in result.note
    assert [c.problem_id for c in result.differences[0].broken] == ["p9"]


def test_several_samples_per_problem_compare_pass_fractions(tmp_path: Path) -> None:
    problems = [Problem(id=f"p{i}") for i in range(6)]
    write_run(tmp_path, "bench_aaaaaaaa_20261101_100000", problems=problems,
              attempts={(p.id, k): [attempt("passed" if k < 2 else "failed")]
                        for p in problems for k in range(4)})  # fmt: skip
    write_run(tmp_path, "bench_bbbbbbbb_20261101_100000", problems=problems,
              attempts={(p.id, k): [attempt("passed" if k < 3 or p.id == "p0" else "failed")]
                        for p in problems for k in range(4)})  # fmt: skip
    result = compare.compare(db.open_db(tmp_path), ["bench_aaaaaaaa", "bench_bbbbbbbb"])
    assert result.max_samples == 4
    assert [r.pass_at_1.estimate for r in result.runs] == [0.5, pytest.approx((5 * 0.75 + 1) / 6)]
    first = result.differences[0].fixed[0]
    assert (first.problem_id, first.base, first.new) == ("p0", 0.5, 1.0)
    assert len(result.differences[0].fixed) == 6 and result.differences[0].p_value == pytest.approx(2 / 64)
