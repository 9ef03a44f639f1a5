"""Batched decoding in the llama_cpp backend, against one at a time and raw llama-cpp-python on the tiny model."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import structlog

from bench_runner_core.plugins.llama import _batch as llama_batch
from bench_runner_core.plugins.llama import _sizing
from bench_runner_core.plugins.llama import llama_cpp as plugin
from bench_runner_core.records import Completion, GenerationParams, GenerationRequest, Prompt, RunConfig

PROMPTS = [Prompt.completion(text) for text in ("def add(a, b):", "x = ", "import os\n", "# sort a list\n")]


def _backend(model: Path, n_samples: int = 1, max_tokens: int = 512, **options: object) -> plugin.LlamaCppBackend:
    config = RunConfig(
        benchmark="b",
        backend="llama_cpp",
        model=str(model),
        n_samples=n_samples,
        params=GenerationParams(max_tokens=max_tokens),
        options=options,
    )
    return plugin._factory(config, None)


def _request(prompt: Prompt, index: int = 0, **params: object) -> GenerationRequest:
    return GenerationRequest(problem_id="p", sample_index=index, prompt=prompt, params=GenerationParams(**params))


def _together(backend: plugin.LlamaCppBackend, requests: list[GenerationRequest]) -> list[Completion]:
    """The requests from as many threads as the backend asks for, as the local engine sends them."""
    with ThreadPoolExecutor(max_workers=backend.concurrency) as pool:
        return list(pool.map(backend.generate, requests))


@pytest.fixture(scope="module")
def sequential(tiny_gguf: Path):
    backend = _backend(tiny_gguf, parallel_sequences=1)
    backend.start()
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def batched(tiny_gguf: Path):
    backend = _backend(tiny_gguf, parallel_sequences=4)
    facts = backend.start()
    assert facts["parallel_sequences"] == backend.concurrency == 4
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def raw(tiny_gguf: Path):
    """llama-cpp-python's own Llama, as a user would run it: the reference for sampling and stopping."""
    import llama_cpp

    llm = llama_cpp.Llama(str(tiny_gguf), n_ctx=2048, verbose=False)
    yield llm
    llm.close()


def _raw(llm, request: GenerationRequest) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    p = request.params
    out = llm.create_completion(
        request.prompt.text,
        max_tokens=p.max_tokens,
        temperature=p.temperature,
        top_p=p.top_p,
        top_k=p.top_k,
        min_p=p.min_p,
        repeat_penalty=p.repeat_penalty,
        seed=p.seed,
        stop=[*request.prompt.stop, *p.stop],
    )
    choice = out["choices"][0]
    return choice["text"], choice["finish_reason"], out["usage"]["completion_tokens"]


def test_one_at_a_time_is_the_same_decoder_with_one_sequence(sequential) -> None:
    # so that batched and one-at-a-time runs compute every token the same way
    assert sequential.concurrency == 1 and sequential._batch is not None and sequential._batch.sequences == 1


def test_batching_is_the_default(tiny_gguf: Path) -> None:
    assert plugin.PARALLEL_SEQUENCES.default == 0
    backend = _backend(tiny_gguf, n_samples=8)
    try:
        assert backend.start()["parallel_sequences"] == backend.concurrency == 8
    finally:
        backend.close()


def test_the_model_keeps_plain_weights(sequential) -> None:
    # llama.cpp's repacked weights compute a row differently with other rows in its call
    assert sequential._llm.model_params.use_extra_bufts is False


def test_greedy_batched_equals_sequential(sequential, batched, raw) -> None:
    # four samples of each prompt, as -n 4 sends them, plus different budgets in one batch
    requests = [_request(p, i, max_tokens=8 + 5 * i) for p in PROMPTS for i in range(4)]
    alone = [sequential.generate(r) for r in requests]
    together = _together(batched, requests)
    assert [(c.text, c.finish_reason, c.completion_tokens) for c in alone] == [_raw(raw, r) for r in requests]
    for a, b in zip(alone, together, strict=True):
        assert b.error is None
        assert (b.text, b.finish_reason, b.completion_tokens, b.prompt_tokens) == (
            a.text,
            a.finish_reason,
            a.completion_tokens,
            a.prompt_tokens,
        )
        assert b.time_to_first_token_s is not None and 0 < b.time_to_first_token_s <= b.duration_s
        assert b.tokens_per_second and b.tokens_per_second > 0
    # the tiny model never ends a text: each sample runs to its own budget (and past it only, as
    # llama-cpp-python does, while its last bytes are an unfinished UTF-8 character)
    assert all(c.finish_reason == "length" for c in together)
    assert all(c.completion_tokens >= r.params.max_tokens for c, r in zip(together, requests, strict=True))


def test_seeded_samples_repeat_and_match_the_sequential_sampler(sequential, batched, raw) -> None:
    requests = [
        _request(PROMPTS[1], i, temperature=1.0, top_k=40, top_p=0.9, seed=7 + i, max_tokens=20) for i in range(4)
    ]
    first = [c.text for c in _together(batched, requests)]
    second = [c.text for c in _together(batched, requests)]
    assert first == second
    assert len(set(first)) == 4, "each sample has its own seed"
    # llama.cpp's sampler chain, built as llama-cpp-python builds it: same seed, same text
    assert first == [sequential.generate(r).text for r in requests]
    assert first == [_raw(raw, r)[0] for r in requests]


def test_stop_sequences_and_budgets_per_sequence(sequential, batched, raw) -> None:
    full = sequential.generate(_request(PROMPTS[2], max_tokens=16)).text
    stop = full[5:7]
    assert stop and stop not in full[:5]
    requests = [
        _request(Prompt.completion(PROMPTS[2].text, stop=(stop,)), max_tokens=16),
        _request(PROMPTS[2], max_tokens=3),
        _request(PROMPTS[2], max_tokens=16, stop=("no such text",)),
        _request(PROMPTS[0], max_tokens=5),
    ]
    got = _together(batched, requests)
    expected = [sequential.generate(r) for r in requests]
    assert [(c.text, c.finish_reason, c.completion_tokens) for c in got] == [
        (c.text, c.finish_reason, c.completion_tokens) for c in expected
    ]
    assert [(c.text, c.finish_reason, c.completion_tokens) for c in got] == [_raw(raw, r) for r in requests]
    cut, short, whole, other = got
    assert (cut.text, cut.finish_reason) == (full[: full.index(stop)], "stop")
    assert short.finish_reason == "length" and full.startswith(short.text) and len(short.text) < len(full)
    assert (whole.text, whole.finish_reason) == (full, "length")
    assert other.finish_reason == "length" and other.completion_tokens < whole.completion_tokens


def test_chat_prompts_use_the_gguf_template(tiny_chat_gguf: Path) -> None:
    prompt = Prompt.chat(("system", "be brief"), ("user", "hi"))
    one = _backend(tiny_chat_gguf, parallel_sequences=1)
    many = _backend(tiny_chat_gguf, parallel_sequences=2)
    one.start()
    many.start()
    try:
        expected = one.generate(_request(prompt, max_tokens=8))
        got = _together(many, [_request(prompt, i, max_tokens=8) for i in range(2)])
        assert [(c.text, c.prompt_tokens) for c in got] == [(expected.text, expected.prompt_tokens)] * 2
    finally:
        one.close()
        many.close()


def test_too_little_memory_runs_fewer_sequences_with_a_log_line(tiny_gguf: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a machine with room for the caches of three 256-token sequences
    backend = _backend(tiny_gguf, max_tokens=100, ctx_size=256, parallel_sequences=8)
    monkeypatch.setattr(_sizing, "memory_budget", lambda: 0)
    with structlog.testing.capture_logs() as logs:
        facts = backend.start()
    try:
        assert facts["parallel_sequences"] == backend.concurrency == 1
        (line,) = [entry for entry in logs if entry["event"] == "llama_cpp_fewer_sequences"]
        assert line["requested"] == 8 and line["using"] == 1 and "--ctx-size" in line["fix"]
        assert backend.generate(_request(PROMPTS[0], max_tokens=4)).error is None
    finally:
        backend.close()


def test_long_prompts_each_have_their_own_cache(sequential, tiny_gguf: Path) -> None:
    # four 150-byte prompts and 90-token budgets: each sequence's 512-token cache holds one
    prompts = [Prompt.completion(f"{i} " + "abcdefghij" * 15) for i in range(4)]
    requests = [_request(p, max_tokens=90) for p in prompts]
    backend = _backend(tiny_gguf, max_tokens=90, ctx_size=512, parallel_sequences=4)
    backend.start()
    try:
        assert backend.concurrency == 4
        together = _together(backend, requests)
    finally:
        backend.close()
    assert all(c.error is None for c in together)
    assert [c.text for c in together] == [sequential.generate(r).text for r in requests]


def test_gpu_layers_zero_reaches_llama_cpp(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, gpu_layers="0", parallel_sequences=2)
    facts = backend.start()
    try:
        assert facts["gpu_layers"] == 0 and facts["gpu_offload"] is False
        assert backend._llm.model_params.n_gpu_layers == 0
        assert backend.generate(_request(PROMPTS[0], max_tokens=4)).error is None
    finally:
        backend.close()


def test_a_prompt_longer_than_the_context_fails_only_that_sample(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, max_tokens=64, ctx_size=256, parallel_sequences=2)
    backend.start()
    try:
        failed, fine = _together(backend, [_request(Prompt.completion("y" * 400)), _request(PROMPTS[0], max_tokens=4)])
    finally:
        backend.close()
    assert failed.finish_reason == "error" and "longer than the context" in failed.error
    assert fine.error is None and fine.completion_tokens == 4


def test_close_during_generation_ends_every_sequence(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, ctx_size=4096, max_tokens=1900, parallel_sequences=2)
    backend.start()
    results: list[Completion] = []
    workers = [
        threading.Thread(target=lambda p=p: results.append(backend.generate(_request(p, max_tokens=1900))))
        for p in PROMPTS[:2]
    ]
    for worker in workers:
        worker.start()
    decoder = backend._batch
    while not all(slot.seq is not None and slot.seq.out for slot in decoder._slots):
        time.sleep(0.001)
    backend.close()
    for worker in workers:
        worker.join(30)
    assert not any(worker.is_alive() for worker in workers)
    assert len(results) == 2 and all(c.completion_tokens < 1900 for c in results)
    with pytest.raises(RuntimeError, match="not started, or already closed"):
        backend.generate(_request(PROMPTS[0]))


def test_cli_run_with_four_samples_batched(bench, tmp_path: Path, tiny_gguf: Path) -> None:  # type: ignore[no-untyped-def]
    common = ("--benchmark", "echo", "--limit", "3", "-n", "4", "--max-tokens", "12", "--json")
    common += ("--model", str(tiny_gguf))
    runs = {}
    for parallel in ("4", "1"):
        result = bench(*common, "--parallel-sequences", parallel, "--gpu-layers", "0")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["metadata"]["backend"]["parallel_sequences"] == int(parallel)
        lines = (tmp_path / "benchmark_results" / summary["run_id"] / "samples.jsonl").read_text().splitlines()
        samples = sorted(
            (s["problem_id"], s["sample_index"], s["attempts"][0]["completion"]) for s in map(json.loads, lines)
        )
        runs[parallel] = [(p, i, c["text"], c["completion_tokens"]) for p, i, c in samples]
        assert len(samples) == 12 and all(c["error"] is None and c["completion_tokens"] >= 12 for *_, c in samples)
    assert runs["4"] == runs["1"]


def test_a_batched_run_killed_mid_way_resumes(bench, tmp_path: Path, tiny_gguf: Path) -> None:  # type: ignore[no-untyped-def]
    import signal
    import subprocess

    from tests.fixtures.kernel import BIN, cli_env

    args = ["--benchmark", "echo", "--echo-size", "40", "-n", "2", "--max-tokens", "40", "--model", str(tiny_gguf)]
    proc = subprocess.Popen(
        [str(BIN), *args, "--parallel-sequences", "4"],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = tmp_path / "benchmark_results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        checkpoint = next(results.glob("bench_*/samples.jsonl"), None)
        if checkpoint is not None and len(checkpoint.read_text().splitlines()) >= 4:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert checkpoint is not None
    done_before = len(checkpoint.read_text().splitlines())
    assert 4 <= done_before < 80
    resumed = bench("--resume", checkpoint.parent.name, "--json", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    lines = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    assert sorted((s["problem_id"], s["sample_index"]) for s in lines) == sorted(
        (f"e{i}", j) for i in range(40) for j in range(2)
    )
    assert json.loads(resumed.stdout)["summary"]["total_samples"] == 80


@pytest.mark.parametrize("model", ["tiny_q8_gguf", "tiny_kquant_gguf"])
def test_a_row_is_computed_as_if_alone_in_the_decoders_context(model: str, request: pytest.FixtureRequest) -> None:
    """The decoder's premise, checked on this llama.cpp build with Q8_0 and with Q4_K_M weights.

    In the decoder's context (a cache stream per sequence, plain weights, no tiled
    K-quant kernel) a sequence's logits are the same bit for bit decoded alone and
    decoded in calls of ``MAX_ROWS`` rows with fifteen other sequences, at any
    place in the call.
    """
    import llama_cpp
    import numpy as np

    backend = _backend(request.getfixturevalue(model), parallel_sequences=llama_batch.MAX_ROWS)
    backend.start()
    decoder = backend._batch
    assert decoder.sequences == llama_batch.MAX_ROWS
    prompts = [backend._llm.tokenize(p.text.encode(), add_bos=True) for p in PROMPTS * 4]

    def trace(slots: list) -> list[np.ndarray]:  # type: ignore[type-arg]
        for slot in decoder._slots:
            decoder._clear(slot)
        for slot, prompt in zip(slots, prompts, strict=False):
            assert decoder._decode([(t, k, slot) for k, t in enumerate(prompt)], logits=False) == 0
        out = []
        for step in range(32):
            rows = [(40 + step + slot.seq_id, len(slot.cached), slot) for slot in slots]
            rows = rows[step % len(rows) :] + rows[: step % len(rows)]  # the traced slot moves through the call
            for start in range(0, len(rows), llama_batch.MAX_ROWS):
                call = rows[start : start + llama_batch.MAX_ROWS]
                assert decoder._decode(call, logits=True) == 0
                for index, (_, _, slot) in enumerate(call):
                    if slot is decoder._slots[0]:
                        row = llama_cpp.llama_get_logits_ith(decoder._ctx, index)
                        out.append(np.ctypeslib.as_array(row, shape=(decoder._n_vocab,)).copy())
        return out

    try:
        alone = trace(decoder._slots[:1])
        together = trace(decoder._slots)
    finally:
        backend.close()
    assert len(alone) == len(together) == 32
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))
