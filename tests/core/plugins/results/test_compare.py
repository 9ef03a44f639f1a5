"""``compare`` on runs written directly: different problem sets, several samples per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_runner_core.plugins.results import compare, db, report
from bench_runner_core.plugins.results.campaign import campaign_runs
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


def test_a_campaigns_manifest_gives_its_finished_runs_not_the_replaced_ones(tmp_path: Path) -> None:
    problems = [Problem(id="p0")]
    ids = ["bench_aaaaaaaa_20261101_100000", "bench_bbbbbbbb_20261101_100000", "bench_cccccccc_20261101_090000"]
    for run_id in ids:
        write_run(tmp_path, run_id, problems=problems, attempts={("p0", 0): [attempt("passed")]})
    folder = tmp_path / "campaigns" / "nightly" / "20261130_010000"
    folder.mkdir(parents=True)
    tasks = [
        {"index": 0, "runs": [{"run_id": ids[0], "status": "done", "replaced": [ids[2]]}]},
        {"index": 1, "runs": [{"run_id": ids[1], "status": "done"}, {"run_id": "bench_dddddddd_20261101_110000"}]},
    ]
    (folder / "manifest.json").write_text(
        json.dumps({"name": "nightly", "id": "nightly/20261130_010000", "tasks": tasks})
    )
    for given in ("nightly", "nightly/20261130_010000", str(folder), str(folder / "manifest.json")):
        manifest, root, runs = campaign_runs(given, tmp_path)
        assert (manifest, root, runs) == (folder / "manifest.json", tmp_path, ids[:2])
    assert report.write_campaign_report(folder) == folder / "report.html"
    assert "campaign nightly/20261130_010000" in (folder / "report.html").read_text()
