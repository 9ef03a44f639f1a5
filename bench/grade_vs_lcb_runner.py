#!/usr/bin/env python3
"""Grade the same LiveCodeBench samples with our sandbox and with lcb_runner's own evaluator.

Samples: the ``code_list`` of lcb_runner outputs (../shared/data/lcb/model_outputs), tests: those
of the shipped ``code_generation_lite`` rows (public tests; private ones where a row has them).
lcb_runner is never vendored: pass the path of a local LiveCodeBench checkout (the folder holding
``lcb_runner/``); it runs in a subprocess with that folder on its path (it needs numpy and tqdm).

    .venv/bin/python bench/grade_vs_lcb_runner.py --lcb-checkout /tmp/LiveCodeBench [--limit 100]

Prints both wall times, the ratio, the agreement, and each disagreement with both verdicts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_runner import Completion
from bench_runner_core.sandbox.pool import SandboxPool
from bench_runner_lcb import data
from bench_runner_lcb.benchmark import LiveCodeBench

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "lcb"

# Runs in the subprocess: lcb_runner's codegen_metrics on the samples, verdicts out as JSON.
_OFFICIAL = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from lcb_runner.evaluation.compute_code_generation_metrics import codegen_metrics
job = json.load(open(sys.argv[2]))
start = time.perf_counter()
_, results, metadata = codegen_metrics(job["samples"], job["generations"], k_list=[1],
                                       num_process_evaluate=job["workers"], timeout=job["timeout"])
wall = time.perf_counter() - start
passed = [bool(np.all(np.array(results[i][0]) > 0)) for i in range(len(job["samples"]))]
json.dump({"wall_s": wall, "passed": passed, "metadata": [m[0] for m in metadata]}, open(sys.argv[3], "w"))
"""


def build(limit: int | None) -> tuple[list, list]:
    problems, _ = data.load(data.Selection(problems_file=str(DATA / "code_generation_lite"), release="release_v5"))
    by_id = {p.id: p for p in problems}
    items = []
    for model in sorted((DATA / "model_outputs").glob("*_eval_all.json")):
        name = model.name.split("__")[1].split("_N1")[0]
        rows = sorted(json.loads(model.read_text()), key=lambda r: r["question_id"])[:limit]
        for row in rows:
            problem = by_id[row["question_id"]]
            if problem.data["tests"]:
                items.append((name, problem, row["code_list"][0], row["graded_list"][0]))
    return items, problems


def run_ours(items: list, workers: int, timeout: float) -> tuple[float, float, list]:
    bench = LiveCodeBench(data.Selection(), test_timeout_s=timeout)
    started = time.perf_counter()
    with SandboxPool(workers=workers) as pool:
        pool.run(bench_warmup_job())  # a run starts the pool while the model loads; timed apart
        startup = time.perf_counter() - started
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers * 2) as threads:
            verdicts = list(
                threads.map(
                    lambda item: bench.grade(
                        item[1], bench.parse(item[1], Completion(text=item[2]), "completion"), pool
                    ),
                    items,
                )
            )
        return startup, time.perf_counter() - start, verdicts


def bench_warmup_job():  # type: ignore[no-untyped-def]
    from bench_runner import StdioCase, StdioJob

    return StdioJob(
        source="print(input())",
        cases=(StdioCase(input="1\n", expected="1\n"),),
        compare="bench_runner_lcb.checks:compare_lines",
    )


def run_official(items: list, checkout: Path, workers: int, timeout: float) -> dict:
    samples, generations = [], []
    for _, problem, code, _ in items:
        tests = problem.data["tests"]
        io = {"inputs": [t[0] for t in tests], "outputs": [t[1] for t in tests], "fn_name": problem.data["func_name"]}
        samples.append({"input_output": json.dumps(io)})
        generations.append([code])
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(
            json.dumps({"samples": samples, "generations": generations, "workers": workers, "timeout": int(timeout)})
        )
        subprocess.run(
            [sys.executable, "-c", _OFFICIAL, str(checkout), str(job), str(out)],
            check=True,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lcb-checkout", type=Path, required=True, help="folder holding lcb_runner/")
    parser.add_argument("--limit", type=int, default=None, help="first N problems of each model file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=6.0)
    parser.add_argument("--out", type=Path, help="write every per-sample verdict pair here (JSON)")
    parser.add_argument(
        "--exclude-slower-than",
        type=float,
        metavar="S",
        help="first grade once untimed and drop samples whose program ran S seconds or more (timeouts, heavy "
        "programs: the same cost in both evaluators), then time both on the rest: the harness overhead",
    )
    args = parser.parse_args()
    items, _ = build(args.limit)
    if args.exclude_slower_than is not None:
        _, _, first = run_ours(items, args.workers, args.timeout)
        kept = [
            item for item, verdict in zip(items, first, strict=True) if verdict.duration_s < args.exclude_slower_than
        ]
        print(f"excluded {len(items) - len(kept)} samples that ran {args.exclude_slower_than} s or more here")
        items = kept
    startup_s, ours_s, ours = run_ours(items, args.workers, args.timeout)
    official = run_official(items, args.lcb_checkout, args.workers, args.timeout)
    pairs = []
    for (model, problem, _, full), verdict, passed, meta in zip(
        items, ours, official["passed"], official["metadata"], strict=True
    ):
        pairs.append(
            {
                "model": model,
                "question_id": problem.id,
                "official_full_tests": full,
                "official": passed,
                "ours": verdict.passed,
                "ours_status": verdict.status,
                "ours_detail": verdict.detail[-300:],
                "official_meta": meta[:300],
            }
        )
    agree = sum(p["official"] == p["ours"] for p in pairs)
    print(f"samples: {len(pairs)}")
    print(f"pool start: {startup_s:.2f} s (not in the ratio)")
    print(f"ours: {ours_s:.1f} s   lcb_runner: {official['wall_s']:.1f} s   ratio: {official['wall_s'] / ours_s:.1f}x")
    heavy = [v for v in ours if v.duration_s >= 1.0]
    if heavy:
        print(
            f"of which programs' own run time: {len(heavy)} samples ran 1 s or more here "
            f"({sum(v.status == 'timeout' for v in heavy)} hit the {args.timeout:g} s limit), "
            f"{sum(v.duration_s for v in heavy):.1f} s together, the same work in any evaluator; "
            "--exclude-slower-than 1 times the rest"
        )
    print(f"verdicts agree: {agree}/{len(pairs)}")
    print(f"official full-test passes failing here: {sum(p['official_full_tests'] and not p['ours'] for p in pairs)}")
    for p in pairs:
        if p["official"] != p["ours"]:
            print(
                f"  {p['model']} {p['question_id']}: official={p['official']} ours={p['ours_status']} | "
                f"{p['ours_detail'][-120:]!r} | {p['official_meta'][:160]}"
            )
    if args.out:
        args.out.write_text(json.dumps({"ours_s": ours_s, "official_s": official["wall_s"], "pairs": pairs}, indent=1))


if __name__ == "__main__":
    main()
