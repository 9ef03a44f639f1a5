"""``problems``, ``export`` and ``db`` through the installed CLI, on runs of the echo test plugin."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.kernel import BIN, cli_env

ECHO = ("--benchmark", "echo", "--backend", "scripted", "--echo-size", "6")
Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path]:
    """The installed CLI in a folder that holds two echo runs (e0, e2, e4 solved; e1, e3, e5 not)."""
    folder = tmp_path_factory.mktemp("echo_runs")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN), *args], cwd=folder, env=cli_env(folder), capture_output=True, text=True, timeout=120
        )

    for _ in range(2):
        assert cli(*ECHO).returncode == 0
    return cli, folder


def test_problems_lists_solve_rates_hardest_first_and_what_no_model_solves(two_runs: tuple[Cli, Path]) -> None:
    bench, _ = two_runs
    text = bench("problems", "--top", "2")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "echo: 6 problems, up to 2 runs of 1 models"
    assert lines[1] == "  hardest: e1 0.00, e3 0.00"
    assert lines[2] == "  easiest: e4 1.00, e2 1.00"
    assert lines[3] == "  solved by no model (3): e1, e3, e5"
    rows = [json.loads(line) for line in bench("problems", "--json").stdout.splitlines()]
    assert {r["problem_id"]: r["solve_rate"] for r in rows} == {f"e{i}": float(i % 2 == 0) for i in range(6)}
    assert rows[0]["runs"] == 2 and rows[0]["attributes"] == {"difficulty": "easy"}
    assert bench("problems", "--benchmark", "other").stdout.strip() == "no complete runs match"


def test_export_writes_samples_and_runs_as_csv_and_jsonl(two_runs: tuple[Cli, Path]) -> None:
    bench, tmp_path = two_runs
    samples = list(csv.DictReader(io.StringIO(bench("export", "samples").stdout)))
    assert len(samples) == 12
    assert {s["status"] for s in samples} == {"passed", "failed"}
    assert samples[0]["benchmark"] == "echo" and samples[0]["program"].startswith("print(")
    out = bench("export", "runs", "-o", "runs.jsonl")
    assert out.returncode == 0 and "wrote 2 runs to runs.jsonl" in out.stderr
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [r["pass_at_1"] for r in runs] == [0.5, 0.5]
    assert runs[0]["config"]["benchmark"] == "echo" and runs[0]["summary"]["total_samples"] == 6
    assert bench("export", "runs", "--since", "2999-01-01").stdout == ""
    assert bench("export", "runs", "--model", "nothing-like-this").stdout == ""
    bad = bench("export", "runs", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since 'last tuesday' is not a date" in bad.stderr


def test_db_rebuild_and_path(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert bench(*ECHO).returncode == 0
    rebuilt = bench("db", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip().endswith("results.sqlite: 1 runs, 6 sample attempts, 0 optimizations")
    assert bench("db", "path").stdout.strip() == str(Path("benchmark_results") / "results.sqlite")


def test_list_filters_and_show_by_prefix_read_the_database(two_runs: tuple[Cli, Path]) -> None:
    bench, _ = two_runs
    every = bench("list", "--json")
    runs = [json.loads(line) for line in every.stdout.splitlines()]
    assert len(runs) == 2 and all(r["config"]["benchmark"] == "echo" and r["complete"] for r in runs)
    assert runs[0]["start_time"] >= runs[1]["start_time"]
    assert bench("list", "--limit", "1").stdout.count("\n") == 1
    assert bench("list", "--benchmark", "echo", "--model", "scripted", "--since", "2000-01-01").stdout.count("\n") == 2
    assert bench("list", "--benchmark", "lcb").stdout == ""
    assert bench("list", "--since", "2999-01-01").stdout == ""
    shown = bench("show", runs[0]["run_id"][:20])
    assert shown.returncode == 0 and json.loads(shown.stdout)["run_id"] == runs[0]["run_id"]
    ambiguous = bench("show", "bench_")
    assert ambiguous.returncode == 2 and "matches several runs" in ambiguous.stderr


def test_with_the_results_plugin_disabled_list_leaves_the_folder_alone(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert bench("--disable-plugin", "results", *ECHO).returncode == 0
    listed = bench("--disable-plugin", "results", "list")
    assert listed.returncode == 0 and "pass@1=0.5000" in listed.stdout
    assert not (tmp_path / "benchmark_results" / "results.sqlite").exists()
    assert bench("compare", "a", "b").returncode == 2  # then the database comes back: from the files
    assert (tmp_path / "benchmark_results" / "results.sqlite").exists()
