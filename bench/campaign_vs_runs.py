"""A campaign of N rollouts of one GGUF model vs the same N runs as separate `bench_runner` processes.

    .venv/bin/python bench/campaign_vs_runs.py [--model PATH.gguf] [--rollouts 3] [--limit 2] [--max-tokens 64]

Both sides run HumanEval with the same settings and seeds (seed + r for rollout
r). The separate runs each start a process, load the model and start a sandbox
pool; the campaign loads the model once for its back-to-back rollouts. The
script prints both wall times, the ratio, how many campaign runs reused the
load, and whether the scores agree (if they differ, the comparison is void).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "bench_runner"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="a GGUF file (default: the embedded Gemma 3 270M)")
    parser.add_argument("--rollouts", type=int, default=3)
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    if args.model is None:
        from bench_runner_core.plugins.llama._default_model import default_model_path

        args.model = str(default_model_path())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        separate = []
        for r in range(args.rollouts):
            out = subprocess.run(
                [str(BIN), "-b", "humaneval", "-m", args.model, "--limit", str(args.limit), "--seed", str(r),
                 "--max-tokens", str(args.max_tokens), "--temperature", "0.8", "--json"],
                cwd=work, capture_output=True, text=True, check=True,
            )  # fmt: skip
            separate.append(json.loads(out.stdout)["summary"]["pass_at_k"]["pass@1"])
        runs_s = time.perf_counter() - started
        (work / "c.toml").write_text(
            f'name = "bench"\nseed = 0\n[defaults]\nlimit = {args.limit}\nmax_tokens = {args.max_tokens}\n'
            f'temperature = 0.8\n[[tasks]]\nbenchmark = "humaneval"\nmodel = "{args.model}"\n'
            f"rollouts = {args.rollouts}\n"
        )
        started = time.perf_counter()
        subprocess.run([str(BIN), "campaign", "run", "c.toml"], cwd=work, capture_output=True, text=True, check=True)
        campaign_s = time.perf_counter() - started
        (folder,) = (work / "benchmark_results" / "campaigns" / "bench").iterdir()
        report = json.loads((folder / "comparison_report.json").read_text())
        run_ids = report["rows"][0]["run_ids"]
        summaries = [json.loads((work / "benchmark_results" / f"{i}.json").read_text()) for i in run_ids]
        shared = sum(bool(s["metadata"]["backend"].get("shared_load")) for s in summaries)
        together = report["rows"][0]["pass_at_1_runs"]
    print(
        f"{args.rollouts} separate runs: {runs_s:.1f} s   campaign: {campaign_s:.1f} s   "
        f"ratio {campaign_s / runs_s:.2f}"
    )
    print(f"campaign runs that reused the first load: {shared} of {len(run_ids)}")
    print(
        f"pass@1 per rollout: separate {separate}, campaign {together}: {'agree' if separate == together else 'DIFFER'}"
    )


if __name__ == "__main__":
    main()
