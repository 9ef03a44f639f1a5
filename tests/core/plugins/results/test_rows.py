"""What a run, a checkpoint line and a problem become as rows: the columns the queries and the report rely on."""

from __future__ import annotations

import sqlite3

from bench_runner_core.plugins.results import db, rows


def line(*statuses: str) -> dict:
    attempts = [
        {"completion": {"text": f"try {i}", "completion_tokens": 10 + i}, "verdict": {"status": s, "detail": s}}
        for i, s in enumerate(statuses)
    ]
    return {"problem_id": "p1", "sample_index": 3, "attempts": attempts}


def test_a_checkpoint_line_is_one_row_per_attempt_and_only_the_last_is_final() -> None:
    made = list(rows.sample_rows_of("run", line("failed", "error", "passed")))
    assert [(r[3], r[4], r[5], r[6]) for r in made] == [(0, 0, "failed", 0), (1, 0, "error", 0), (2, 1, "passed", 1)]
    assert [r[10] for r in made] == [10, 11, 12] and made[-1][-1] == "try 2"
    assert all(r[:3] == ("run", "p1", 3) for r in made)
    assert list(rows.sample_rows_of("run", {"problem_id": "p1"})) == [], "a line without attempts has no rows"


def test_run_and_sample_rows_fit_the_schema() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript(db.schema())
    rows.insert_row(conn, "runs", rows.run_row({"run_id": "run", "config": {}}, state="running"))
    rows.insert_samples(conn, "run", [line("passed")])
    assert conn.execute("SELECT state, benchmark, model FROM runs").fetchall() == [("running", "?", "?")]
    stored = conn.execute("SELECT status, passed, final, completion FROM samples").fetchall()
    assert stored == [("passed", 1, 1, "try 0")]


def test_the_model_is_named_by_the_backend_first_then_the_configured_model_then_the_backend() -> None:
    summary = {"run_id": "r", "config": {"model": "m.gguf", "backend": "llama_cpp"}}
    assert rows.run_row(summary, state="complete")["model"] == "m.gguf"
    summary["metadata"] = {"backend": {"model_name": "Gemma 3 270m"}}
    assert rows.run_row(summary, state="complete")["model"] == "Gemma 3 270m"
    assert rows.model_name({"backend": "openai"}, {}) == "openai"


def test_problems_are_written_only_when_new_or_changed() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript(db.schema())
    rows.upsert_problems(conn, "lcb", [("p1", {"difficulty": "easy", "platform": "atcoder"})])
    conn.execute("UPDATE problems SET difficulty = 'marked' WHERE problem_id = 'p1'")
    rows.upsert_problems(conn, "lcb", [("p1", {"difficulty": "easy", "platform": "atcoder"})])
    assert conn.execute("SELECT difficulty FROM problems").fetchall() == [("marked",)], "same attributes: no write"
    rows.upsert_problems(conn, "lcb", [("p1", {"difficulty": "hard", "tags": ["dp"]})])
    assert conn.execute("SELECT difficulty, platform FROM problems").fetchall() == [("hard", None)]
    assert rows.json_text({"tags": ["dp"]}) == '{"tags": ["dp"]}', "an attribute that cannot be hashed still writes"
