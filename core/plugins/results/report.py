"""``report``: one self-contained HTML file of runs: charts, a per-problem table, run metadata.

Everything the page needs is inside it (data as JSON, the script, the styles) and its
Content-Security-Policy forbids fetching anything, so it opens offline and never phones out.
Model-written text (programs, verdict details, feedback) is only ever set as text, never as HTML.
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bench_runner_core.records import STATUSES

from . import optimization_view, queries, stats

#: resamples for the intervals drawn in a report (compare uses more); enough for a chart, fast for many runs
REPORT_RESAMPLES = 2_000
#: problem attributes drawn as breakdown charts when present
CHART_FACETS = ("difficulty", "platform")
#: sandbox metadata shown in the run table, by key
_SANDBOX_KEYS = ("network_namespace", "pid_namespace", "user_namespace", "landlock_abi", "sandbox_uid", "temp_fs")


def report_data(
    conn: sqlite3.Connection,
    run_ids: Sequence[str],
    *,
    title: str | None = None,
    optimization_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """The data a report page draws: runs with intervals and metadata, problems, per-run cells, samples,
    and the tasks of optimization runs."""
    rows = [queries.get_run(conn, run_id) for run_id in run_ids]
    rows = list({r["run_id"]: r for r in rows}.values())
    problems: dict[tuple[str, str], int] = {}
    attributes: dict[str, dict[str, dict[str, Any]]] = {}
    runs, cells = [], []
    for run in rows:
        scores = queries.problem_scores(conn, run["run_id"])
        benchmark = run["benchmark"]
        if benchmark not in attributes:
            attributes[benchmark] = queries.problem_attributes(conn, benchmark, list(scores))
        for pid in scores:
            problems.setdefault((benchmark, pid), len(problems))
        fractions = [passed / n for n, passed in scores.values()]
        if fractions:
            (interval,), _ = stats.bootstrap([fractions], resamples=REPORT_RESAMPLES)
            pass1 = [interval.estimate, interval.low, interval.high]
        else:
            pass1 = None
        runs.append(_run_entry(conn, run, pass1, scores, attributes[benchmark]))
        cells.append({problems[(benchmark, pid)]: [passed, n] for pid, (n, passed) in scores.items()})
    statuses = _first_statuses(conn, [r["run_id"] for r in rows], problems, [r["benchmark"] for r in rows])
    strings: dict[str, int] = {}
    samples = _samples(conn, rows, problems, strings)
    problem_list = sorted(problems.items(), key=lambda item: item[1])
    return {
        "schema_version": 1,
        "title": title or _default_title(rows, optimization_ids),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "statuses": list(STATUSES),
        "runs": runs,
        "problems": [
            {"id": pid, "benchmark": bench, "attributes": attributes.get(bench, {}).get(pid, {})}
            for (bench, pid), _ in problem_list
        ],
        # per run: problem index -> [passed, samples, status code of the first sample's final attempt]
        "cells": [
            {str(i): [*cell, statuses.get((run_index, i), -1)] for i, cell in run_cells.items()}
            for run_index, run_cells in enumerate(cells)
        ],
        "samples": samples,
        "strings": list(strings),
        "optimizations": optimization_view.report_rows(conn, optimization_ids),
    }


def _default_title(rows: Sequence[sqlite3.Row], optimization_ids: Sequence[str] = ()) -> str:
    if not rows:
        return f"{len(optimization_ids)} optimization runs"
    if len(rows) == 1:
        return f"{rows[0]['benchmark']} · {rows[0]['model']} · {rows[0]['run_id']}"
    return f"{len(rows)} runs · " + ", ".join(sorted({r["benchmark"] for r in rows}))


def _run_entry(
    conn: sqlite3.Connection,
    run: sqlite3.Row,
    pass1: list[float] | None,
    scores: dict[str, tuple[int, int]],
    attributes: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    metadata = json.loads(run["metadata"] or "{}")
    sandbox = metadata.get("sandbox") or {}
    breakdowns: dict[str, dict[str, list[float]]] = {}
    for facet in CHART_FACETS:
        groups: dict[str, list[float]] = defaultdict(list)
        for pid, (n, passed) in scores.items():
            value = (attributes.get(pid) or {}).get(facet)
            if value not in (None, ""):
                groups[str(value)].append(passed / n)
        if groups:
            breakdowns[facet] = {v: [sum(g) / len(g), len(g)] for v, g in sorted(groups.items())}
    return {
        "id": run["run_id"],
        "benchmark": run["benchmark"],
        "model": run["model"],
        "state": run["state"],
        "backend": run["backend"],
        "quantization": run["quantization"],
        "gpu_layers": run["gpu_layers"],
        "prompt_style": run["prompt_style"],
        "mode": run["mode"],
        "start": run["start_time"],
        "end": run["end_time"],
        "duration_s": run["duration_s"],
        "n_samples": run["n_samples"],
        "temperature": run["temperature"],
        "max_tokens": run["max_tokens"],
        "tokens_per_second": run["tokens_per_second"],
        "completion_tokens": run["completion_tokens"],
        "pass1": pass1,
        "problems": len(scores),
        "breakdowns": breakdowns,
        "iterative": _iterative(conn, run["run_id"]),
        "sandbox": {k: sandbox[k] for k in _SANDBOX_KEYS if k in sandbox}
        | ({"warnings": list(sandbox.get("warnings") or [])} if sandbox else {}),
    }


def _iterative(conn: sqlite3.Connection, run_id: str) -> list[float] | None:
    """[zero-shot pass@1, iterative pass@1] for a run whose samples have several attempts, else None."""
    rows = conn.execute(
        """
        SELECT problem_id, AVG(first_passed) AS zero_shot, AVG(final_passed) AS iterative, MAX(attempts) AS most
        FROM (SELECT problem_id, sample_index, COUNT(*) AS attempts,
                     MAX(CASE WHEN attempt = 0 THEN passed END) AS first_passed,
                     MAX(CASE WHEN final = 1 THEN passed END) AS final_passed
              FROM samples WHERE run_id = ? GROUP BY problem_id, sample_index)
        GROUP BY problem_id
        """,
        (run_id,),
    ).fetchall()
    if not rows or max(r["most"] for r in rows) < 2:
        return None
    return [sum(r["zero_shot"] or 0 for r in rows) / len(rows), sum(r["iterative"] or 0 for r in rows) / len(rows)]


def _first_statuses(
    conn: sqlite3.Connection, run_ids: Sequence[str], problems: dict[tuple[str, str], int], benchmarks: Sequence[str]
) -> dict[tuple[int, int], int]:
    codes = {status: i for i, status in enumerate(STATUSES)}
    found = {}
    for run_index, (run_id, benchmark) in enumerate(zip(run_ids, benchmarks, strict=True)):
        for row in conn.execute(
            "SELECT problem_id, status FROM samples WHERE run_id = ? AND final = 1 AND sample_index = 0", (run_id,)
        ):
            index = problems.get((benchmark, row["problem_id"]))
            if index is not None:
                found[(run_index, index)] = codes.get(row["status"], -1)
    return found


def _samples(
    conn: sqlite3.Connection,
    rows: Sequence[sqlite3.Row],
    problems: dict[tuple[str, str], int],
    strings: dict[str, int],
) -> list[list[Any]]:
    """[run, problem, sample, attempt, status, tests passed, tests total, program, detail, feedback] rows.

    Texts go through one table of distinct strings: the same program in many runs is stored once.
    """

    def ref(text: str | None) -> int:
        if not text:
            return -1
        return strings.setdefault(text, len(strings))

    codes = {status: i for i, status in enumerate(STATUSES)}
    out = []
    for run_index, run in enumerate(rows):
        for s in conn.execute(
            "SELECT problem_id, sample_index, attempt, status, tests_passed, tests_total, program, detail, feedback "
            "FROM samples WHERE run_id = ? ORDER BY problem_id, sample_index, attempt",
            (run["run_id"],),
        ):
            index = problems.get((run["benchmark"], s["problem_id"]))
            if index is None:
                continue
            out.append(
                [
                    run_index,
                    index,
                    s["sample_index"],
                    s["attempt"],
                    codes.get(s["status"], -1),
                    s["tests_passed"],
                    s["tests_total"],
                    ref(s["program"]),
                    ref(s["detail"]),
                    ref(s["feedback"]),
                ]
            )
    return out


def render_html(data: dict[str, Any]) -> str:
    """The page: the template with the styles, the script and the data inlined."""
    folder = resources.files(__package__)
    page = (folder / "report.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # inside a <script> element "</script>" would end it: escape the characters HTML looks at
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        page.replace("{{title}}", html.escape(data["title"]))
        .replace("{{style}}", (folder / "report.css").read_text(encoding="utf-8"))
        .replace("{{script}}", (folder / "report.js").read_text(encoding="utf-8"))
        .replace("{{data}}", payload)
    )


def write_report(
    conn: sqlite3.Connection,
    run_ids: Sequence[str],
    output: str | os.PathLike[str],
    *,
    title: str | None = None,
    optimization_ids: Sequence[str] = (),
) -> Path:
    """Write the report of ``run_ids`` (and of optimization runs) to ``output`` (atomically) and return its path."""
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    data = report_data(conn, run_ids, title=title, optimization_ids=optimization_ids)
    tmp.write_text(render_html(data), encoding="utf-8")
    os.replace(tmp, target)
    return target


def write_campaign_report(manifest: str | os.PathLike[str], results_dir: str | os.PathLike[str] | None = None) -> Path:
    """For a campaign: write ``report.html`` next to its ``manifest.json`` (a file or its folder); returns the path.

    The runs are read from the results dir the manifest sits in (``<dir>/campaigns/<name>/<stamp>/``),
    or from ``results_dir``.
    """
    from . import db
    from .campaign import campaign_runs

    path, root, run_ids = campaign_runs(os.fspath(manifest), results_dir or "benchmark_results")
    conn = db.open_db(results_dir or root)
    try:
        title = f"campaign {path.parent.parent.name}/{path.parent.name}"
        return write_report(conn, run_ids, path.parent / "report.html", title=title)
    finally:
        conn.close()
