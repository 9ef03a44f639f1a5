"""How fast `list` is with thousands of runs: the results database against reading every summary file.

    python bench/results_list.py [--runs 3000] [--problems 164]

Writes that many run summaries (each with its per-problem results, like a HumanEval run) into a
temporary results dir, builds the database once, then times listing every run and a filtered list
(one model, last week) through the database, and the same listing by reading every summary file,
which is how `list` worked before the database. Prints the times and their ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_runner_core.plugins.results import db, queries
from bench_runner_core.store import RunStore


def write_runs(root: Path, runs: int, problems: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(runs):
        when = start + timedelta(hours=i)
        run_id = f"bench_{i:08x}_{when:%Y%m%d_%H%M%S}"
        results = [
            {"problem_id": f"HumanEval/{p}", "n": 1, "passed": (p + i) % 3 != 0, "attributes": {}, "statuses": {}}
            for p in range(problems)
        ]
        passed = sum(r["passed"] for r in results)
        summary = {
            "schema_version": 1,
            "run_id": run_id,
            "mode": "zero-shot",
            "start_time": when.isoformat(),
            "end_time": when.isoformat(),
            "duration_seconds": 60.0,
            "complete": True,
            "config": {"benchmark": "humaneval", "backend": "llama_cpp", "model": f"model-{i % 20}.gguf"},
            "metadata": {"backend": {"model_name": f"model-{i % 20}.gguf"}},
            "results": results,
            "summary": {
                "total_problems": problems,
                "total_samples": problems,
                "pass_at_k": {"pass@1": passed / problems},
            },
        }
        (root / f"{run_id}.json").write_text(json.dumps(summary))


def timed(action, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--problems", type=int, default=164)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_runs(root, args.runs, args.problems)
        started = time.perf_counter()
        db.open_db(root).close()
        build = time.perf_counter() - started
        last_week = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=args.runs - 24 * 7)).isoformat()
        every = queries.RunFilter()
        some = queries.RunFilter(models=("model-3.",), since=last_week)
        files = timed(lambda: list(RunStore(root).summaries()), repeat=3)
        database = timed(lambda: queries.list_records(root, every))
        filtered = timed(lambda: queries.list_records(root, some))
        print(f"{args.runs} runs of {args.problems} problems")
        print(f"build the database once:     {build:.2f} s")
        print(f"list, reading every summary: {files * 1000:.0f} ms")
        print(f"list, from the database:     {database * 1000:.0f} ms  ({files / database:.1f}x faster)")
        print(f"list --model --since:        {filtered * 1000:.0f} ms  ({files / filtered:.1f}x faster)")


if __name__ == "__main__":
    main()
