"""What runs, samples and problems become as rows of the results database (``schema.sql``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

#: problem attributes that get a column of their own (all of them are also in ``attributes``)
FACETS = ("difficulty", "platform", "contest_date")


INSERT_SAMPLE = f"INSERT OR REPLACE INTO samples VALUES ({', '.join('?' * 22)})"


def insert_samples(conn: sqlite3.Connection, run_id: str, samples: Iterable[Mapping[str, Any]]) -> None:
    conn.executemany(INSERT_SAMPLE, [row for sample in samples for row in sample_rows_of(run_id, sample)])


def run_row(summary: Mapping[str, Any], *, state: str) -> dict[str, Any]:
    """The ``runs`` columns of a summary (or of a started run's config and metadata, without results)."""
    config = summary.get("config") or {}
    metadata = summary.get("metadata") or {}
    backend = metadata.get("backend") or {}
    params = config.get("params") or {}
    numbers = summary.get("summary") or {}
    return {
        "run_id": summary["run_id"],
        "benchmark": config.get("benchmark") or "?",
        "model": model_name(config, metadata),
        "model_path": config.get("model"),
        "backend": config.get("backend"),
        "quantization": backend.get("quantization"),
        "gpu_layers": backend.get("gpu_layers"),
        "prompt_style": metadata.get("prompt_style") or config.get("prompt_style"),
        "mode": summary.get("mode"),
        "state": state,
        "start_time": summary.get("start_time"),
        "end_time": summary.get("end_time"),
        "duration_s": summary.get("duration_seconds"),
        "n_samples": config.get("n_samples"),
        "temperature": params.get("temperature"),
        "max_tokens": params.get("max_tokens"),
        "seed": params.get("seed"),
        "total_problems": numbers.get("total_problems"),
        "total_samples": numbers.get("total_samples"),
        "successes": numbers.get("successes"),
        "pass_at_1": (numbers.get("pass_at_k") or {}).get("pass@1"),
        "prompt_tokens": numbers.get("prompt_tokens"),
        "completion_tokens": numbers.get("completion_tokens"),
        "total_cost": numbers.get("total_cost"),
        "config": json.dumps(config),
        "metadata": json.dumps(metadata),
        "summary": json.dumps(numbers) if numbers else None,
    }


def model_name(config: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    """What a run's model is called: the backend's own name for it, else the configured model or backend."""
    return (metadata.get("backend") or {}).get("model_name") or config.get("model") or config.get("backend") or "?"


def sample_rows_of(run_id: str, sample: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """One ``samples`` row per attempt of a checkpoint line."""
    attempts = sample.get("attempts") or []
    for number, attempt in enumerate(attempts):
        completion = attempt.get("completion") or {}
        verdict = attempt.get("verdict") or {}
        status = verdict.get("status", "error")
        yield (
            run_id,
            sample["problem_id"],
            sample.get("sample_index", 0),
            number,
            int(number == len(attempts) - 1),
            status,
            int(status == "passed"),
            verdict.get("tests_passed"),
            verdict.get("tests_total"),
            completion.get("prompt_tokens"),
            completion.get("completion_tokens"),
            completion.get("duration_s"),
            completion.get("time_to_first_token_s"),
            completion.get("tokens_per_second"),
            verdict.get("duration_s"),
            completion.get("cost"),
            completion.get("finish_reason"),
            completion.get("error"),
            verdict.get("detail"),
            attempt.get("feedback"),
            attempt.get("program"),
            completion.get("text"),
        )


def upsert_problems(
    conn: sqlite3.Connection, benchmark: str, problems: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Record problems' attributes; only new or changed rows are written (a rebuild sees each problem per run)."""
    known = dict(conn.execute("SELECT problem_id, attributes FROM problems WHERE benchmark = ?", (benchmark,)))
    rows = []
    for pid, attributes in problems:
        text = json_text(attributes)
        if known.get(pid) != text:
            rows.append((benchmark, pid, *(_text(attributes.get(f)) for f in FACETS), text))
    conn.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?, ?, ?, ?, ?)", rows)


_JSON_TEXT: dict[tuple[tuple[str, Any], ...], str] = {}


def json_text(mapping: Mapping[str, Any] | None) -> str:
    """Small flat mappings as JSON text; a rebuild meets the same few thousand of them again and again."""
    key = tuple(sorted((mapping or {}).items()))
    try:
        text = _JSON_TEXT.get(key)
    except TypeError:  # a value that cannot be hashed (a nested attribute)
        return json.dumps(dict(mapping or {}))
    if text is None:
        if len(_JSON_TEXT) > 100_000:
            _JSON_TEXT.clear()
        text = _JSON_TEXT[key] = json.dumps(dict(mapping or {}))
    return text


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def insert_row(conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> None:
    names = ", ".join(row)
    conn.execute(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
