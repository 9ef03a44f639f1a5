"""Optimization results in the results database and the history file, through the installed CLI."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.browser import Browser, browser  # noqa: F401 (a fixture)
from tests.fixtures.kernel import BIN, cli_env
from tests.plugins.optimizers.conftest import gsm8k_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer
from tests.plugins.optimizers.test_cli import command, run


def rows(results: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(results / "results.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_every_task_lands_in_the_database_and_the_history(
    scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(gsm8k_answers())
    args = command(server, tmp_path, "gsm8k", "few_shot", "--json")
    args.insert(args.index("few_shot") + 1, "meta_prompt")  # --optimizers few_shot meta_prompt
    done = run(args, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    results = tmp_path / "results"
    tasks = {p.stem: json.loads(p.read_text()) for p in (results / summary["run_id"] / "tasks").glob("*.json")}
    assert len(tasks) == 2

    # written by the results plugin as each task finished: no command has opened the database yet
    (run_row,) = rows(results, "SELECT * FROM optimization_runs")
    assert (run_row["run_id"], run_row["state"], run_row["tasks"], run_row["done"]) == (
        summary["run_id"], "complete", 2, 2,
    )  # fmt: skip
    stored = {r["task_id"]: r for r in rows(results, "SELECT * FROM optimizations")}
    assert set(stored) == set(tasks)
    for task_id, task in tasks.items():
        row = stored[task_id]
        assert (row["dataset"], row["optimizer"], row["model"], row["seed"]) == (
            "gsm8k", task["task"]["optimizer"], "openai/task", 3,
        )  # fmt: skip
        assert (row["optimized_test"], row["optimized_test_low"], row["optimized_test_high"]) == (
            task["optimized_test"]["mean"], task["optimized_test"]["low"], task["optimized_test"]["high"],
        )  # fmt: skip
        assert row["baseline_test"] == task["baseline_test"]["mean"] and row["gain"] == task["gain"]["mean"]
        assert row["best_instruction"] == task["best"]["instruction"]
        assert (row["rollouts"], row["trials"], row["proposer_tokens"]) == (
            task["rollouts"], task["trials"], task["proposer_tokens"],
        )  # fmt: skip
        assert row["task_calls"] == task["usage"]["task"]["calls"] and row["test_calls"] == task["test_usage"]["calls"]
        assert (row["stop_reason"], row["cost"], row["duration_s"]) == (
            task["stop_reason"], task["cost"], task["duration_s"],
        )  # fmt: skip
        points = rows(results, f"SELECT * FROM optimization_history WHERE task_id = '{task_id}' ORDER BY trial")
        assert [(p["rollouts"], p["best"]) for p in points] == [(h["rollouts"], h["best"]) for h in task["history"]]

    # the history file carries the same per-task records
    (entry,) = json.loads((tmp_path / "history.json").read_text())["runs"]
    by_task = {t["task_id"]: t for t in entry["results"]["tasks"]}
    assert set(by_task) == set(tasks)
    for task_id, task in tasks.items():
        assert by_task[task_id]["best_prompt"] == task["best"]
        assert by_task[task_id]["optimized_test"] == task["optimized_test"]
        assert by_task[task_id]["usage"]["proposer"] == task["usage"]["proposer"]

    # the command shows them, filtered
    shown = run([str(BIN), "optimizations", "--results-dir", str(results), "--optimizer", "meta_prompt"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "meta_prompt" in shown.stdout and "few_shot" not in shown.stdout
    listed = run([str(BIN), "optimizations", "--results-dir", str(results), "--json"], tmp_path)
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["task_id"] for r in records} == set(tasks)
    assert all(r["history"] and r["best_instruction"] for r in records)

    # export: one row per task, as JSONL (nested history) and CSV (the history as JSON text)
    exported = run([str(BIN), "export", "optimizations", "--results-dir", str(results), "--format", "jsonl"], tmp_path)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert {r["task_id"]: (r["optimized_test"], r["history"]) for r in lines} == {
        r["task_id"]: (r["optimized_test"], r["history"]) for r in records
    }
    out = tmp_path / "tasks.csv"
    csv_run = run(
        [str(BIN), "export", "optimizations", "--results-dir", str(results), "--model", "task", "-o", str(out)],
        tmp_path,
    )
    assert csv_run.returncode == 0 and "wrote 2 optimizations" in csv_run.stderr, csv_run.stderr
    table = list(csv.DictReader(out.open()))
    assert {r["task_id"]: json.loads(r["history"]) for r in table} == {r["task_id"]: r["history"] for r in records}
    none = run([str(BIN), "export", "optimizations", "--results-dir", str(results), "--benchmark", "bbh"], tmp_path)
    assert none.returncode == 0 and none.stdout == ""

    # a retried run re-indexes, never duplicates; a rebuild from the files alone gives the same rows,
    # and without the optimizers plugin the results commands still read them
    again = run(
        [str(BIN), "optimize", "--resume", summary["run_id"], "--results-dir", str(results), "--history",
         str(tmp_path / "history.json")],
        tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    before = [dict(r) for r in rows(results, "SELECT * FROM optimizations ORDER BY task_id")]
    (results / "results.sqlite").unlink()
    bare = cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="")  # no optimizers plugin
    rebuilt = run_bare([str(BIN), "db", "rebuild", "--results-dir", str(results)], tmp_path, bare)
    assert rebuilt.returncode == 0 and "2 optimizations" in rebuilt.stdout, rebuilt.stderr
    assert [dict(r) for r in rows(results, "SELECT * FROM optimizations ORDER BY task_id")] == before
    shown = run_bare([str(BIN), "optimizations", "--results-dir", str(results)], tmp_path, bare)
    assert shown.returncode == 0 and shown.stdout.count(summary["run_id"]) == 2, shown.stderr
    page = run_bare([str(BIN), "report", "--all", "--results-dir", str(results), "-o", "r.html"], tmp_path, bare)
    assert page.returncode == 0 and "1 optimization runs" in page.stdout, page.stderr
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', (tmp_path / "r.html").read_text(), re.S)[1])
    assert {(r["task_id"], r["optimized_test"][0]) for r in data["optimizations"]} == {
        (task_id, task["optimized_test"]["mean"]) for task_id, task in tasks.items()
    }


def test_the_report_shows_an_optimization_run_in_chromium(
    browser: Browser,  # noqa: F811
    scripted: Callable[..., ScriptedServer],
    tmp_path: Path,
) -> None:
    server = scripted(gsm8k_answers())
    done = run(command(server, tmp_path, "gsm8k", "few_shot", "--json"), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads(done.stdout)["run_id"]
    page = run([str(BIN), "report", run_id, "--results-dir", str(tmp_path / "results"), "-o", "r.html"], tmp_path)
    assert page.returncode == 0, page.stderr
    browser.open(tmp_path / "r.html")
    assert browser.errors() == []
    cells = browser.evaluate("[...document.querySelectorAll('#optimizations tbody td')].map(td => td.textContent)")
    assert cells[:3] == [run_id, "gsm8k", "few_shot"] and cells[-1], cells
    assert browser.evaluate("document.getElementById('optimizations-section').hidden") is False


def run_bare(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
