"""The results database: built from the JSON files, kept in step with them, rebuilt when missing or old."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import structlog

from bench_runner_core.plugins.results import db
from bench_runner_core.records import Problem
from tests.fixtures.kernel import BIN, cli_env
from tests.fixtures.results import attempt, write_run

PROBLEMS = [Problem(id=f"p{i}", attributes={"difficulty": "easy" if i < 2 else "hard"}) for i in range(4)]
A = "bench_aaaaaaaa_20261101_100000"
B = "bench_bbbbbbbb_20261102_100000"


def two_runs(root: Path) -> None:
    write_run(root, A, problems=PROBLEMS, attempts={(p.id, 0): [attempt("passed", f"x={p.id}")] for p in PROBLEMS})
    write_run(
        root,
        B,
        problems=PROBLEMS,
        attempts={(p.id, 0): [attempt("failed"), attempt("passed" if p.id != "p3" else "timeout")] for p in PROBLEMS},
        model="model-b.gguf",
        start_time="2026-11-02T10:00:00+00:00",
    )


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    tables = ("runs", "run_problems", "samples", "problems")
    return {t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}")) for t in tables}


def test_a_results_dir_is_indexed_with_runs_samples_per_attempt_and_problems(tmp_path: Path) -> None:
    two_runs(tmp_path)
    conn = db.open_db(tmp_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.DB_SCHEMA
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    runs = {r["run_id"]: r for r in conn.execute("SELECT * FROM runs")}
    assert runs[A]["pass_at_1"] == 1.0 and runs[B]["pass_at_1"] == 0.75
    assert runs[B]["model"] == "model-b.gguf" and runs[B]["quantization"] == "Q4_K_M" and runs[B]["state"] == "complete"
    attempts = conn.execute("SELECT attempt, final, status FROM samples WHERE run_id = ? AND problem_id = 'p3'", (B,))
    assert [tuple(r) for r in attempts] == [(0, 0, "failed"), (1, 1, "timeout")]
    facets = dict(conn.execute("SELECT problem_id, difficulty FROM problems WHERE benchmark = 'synthetic'").fetchall())
    assert facets == {"p0": "easy", "p1": "easy", "p2": "hard", "p3": "hard"}


def test_deleting_the_database_rebuilds_the_same_rows(tmp_path: Path) -> None:
    two_runs(tmp_path)
    before = dump(db.open_db(tmp_path))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / db.DB_NAME}{suffix}").unlink(missing_ok=True)
    assert dump(db.open_db(tmp_path)) == before
    assert dump(db.rebuild(tmp_path)) == before


def test_a_database_of_an_older_schema_or_damaged_is_rebuilt(tmp_path: Path) -> None:
    two_runs(tmp_path)
    old = sqlite3.connect(tmp_path / db.DB_NAME)
    old.execute("CREATE TABLE runs (run_id TEXT)")
    old.execute("PRAGMA user_version = 0")
    old.commit()
    old.close()
    conn = db.open_db(tmp_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.DB_SCHEMA
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / db.DB_NAME}{suffix}").unlink(missing_ok=True)
    (tmp_path / db.DB_NAME).write_bytes(b"this is not a database" * 100)
    assert db.open_db(tmp_path).execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 12


def test_new_changed_and_deleted_summaries_are_picked_up(tmp_path: Path) -> None:
    two_runs(tmp_path)
    db.open_db(tmp_path).close()
    (tmp_path / f"{A}.json").unlink()
    write_run(
        tmp_path,
        "bench_cccccccc_20261103_100000",
        problems=PROBLEMS[:2],
        attempts={(p.id, 0): [attempt("error")] for p in PROBLEMS[:2]},
    )
    conn = db.open_db(tmp_path)
    assert {r[0] for r in conn.execute("SELECT run_id FROM runs")} == {B, "bench_cccccccc_20261103_100000"}
    assert conn.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?", (A,)).fetchone()[0] == 0
    assert dump(conn) == dump(db.rebuild(tmp_path))


def test_two_runs_writing_at_once_both_land_whole(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    args = [str(BIN), "--benchmark", "echo", "--backend", "scripted", "--echo-size", "8", "--delay", "0.05", "--json"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs.append(
        subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    )
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    conn = db.open_db(tmp_path / "benchmark_results")
    rows = conn.execute("SELECT run_id, state, total_samples, pass_at_1 FROM runs").fetchall()
    assert [(r["state"], r["total_samples"], r["pass_at_1"]) for r in rows] == [("complete", 8, 0.5)] * 2
    per_run = conn.execute("SELECT COUNT(*) FROM samples GROUP BY run_id").fetchall()
    assert [r[0] for r in per_run] == [8, 8]
    live = dump(conn)
    assert dump(db.rebuild(tmp_path / "benchmark_results")) == live


def test_a_database_that_cannot_be_opened_never_stops_a_run(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "benchmark_results" / db.DB_NAME).mkdir(parents=True)
    result = bench("--benchmark", "echo", "--backend", "scripted", "--echo-size", "2")
    assert result.returncode == 0, result.stderr
    assert "results_db_write_failed" in result.stderr
    assert len(list((tmp_path / "benchmark_results").glob("bench_*.json"))) == 1
    refused = bench("compare", "bench_a", "bench_b")
    assert refused.returncode == 2 and "cannot use the results database" in refused.stderr


def test_without_a_checkpoint_the_database_still_gets_every_sample(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ran = bench(
        "--benchmark", "echo", "--backend", "scripted", "--echo-size", "3", "--sink", "summary", "--sink", "database"
    )
    assert ran.returncode == 0, ran.stderr
    conn = db.open_db(tmp_path / "benchmark_results")
    assert conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 3
    assert not list((tmp_path / "benchmark_results").glob("bench_*/samples.jsonl"))


def test_a_missing_results_dir_is_not_created(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        conn = db.open_db(tmp_path / "nowhere")
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert not (tmp_path / "nowhere").exists()
    assert logs == [], "no line about a database file that was never written"
    with structlog.testing.capture_logs() as logs:
        db.open_db(tmp_path)
    assert [(e["event"], e["path"]) for e in logs] == [("results_db_built", str(tmp_path / "results.sqlite"))]
