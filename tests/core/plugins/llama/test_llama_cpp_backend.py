from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.plugins.llama import llama_cpp as plugin
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig
from tests.fixtures.tiny_gguf import write_tiny_gguf


def _backend(model: Path | str | None, **options: object) -> plugin.LlamaCppBackend:
    config = RunConfig(benchmark="humaneval", backend="llama_cpp", model=str(model) if model else None, options=options)
    return plugin._factory(config, None)


def _request(prompt: Prompt, **params: object) -> GenerationRequest:
    return GenerationRequest(problem_id="p", sample_index=0, prompt=prompt, params=GenerationParams(**params))


@pytest.fixture(scope="module")
def loaded(tiny_gguf: Path):
    backend = _backend(tiny_gguf)
    facts = backend.start()
    yield backend, facts
    backend.close()


def test_start_reports_model_facts(loaded, tiny_gguf: Path) -> None:
    backend, facts = loaded
    assert facts["model_file"] == "tiny.gguf"
    assert facts["model_size_bytes"] == tiny_gguf.stat().st_size
    assert len(facts["model_sha256"]) == 64
    assert facts["architecture"] == "llama"
    assert facts["quantization"] == "F32"
    assert facts["context_length_trained"] == 8192
    assert facts["gpu_offload"] is False
    assert facts["llama_cpp_python_version"]
    assert backend.default_prompt_style() == "completion"


def test_greedy_completion_records_tokens_and_timing(loaded) -> None:
    backend, _ = loaded
    completion = backend.generate(_request(Prompt.completion("def add(a, b):"), max_tokens=12))
    assert completion.error is None
    assert completion.finish_reason == "length"
    assert completion.completion_tokens >= 12
    # BOS, one token per byte, and each space (plus the leading one) becomes the 3-byte "▁"
    assert completion.prompt_tokens == 1 + len("def add(a, b):") + 2 * 2 + 3
    assert completion.time_to_first_token_s is not None
    assert 0 < completion.time_to_first_token_s <= completion.duration_s
    assert completion.tokens_per_second and completion.tokens_per_second > 0
    again = backend.generate(_request(Prompt.completion("def add(a, b):"), max_tokens=12))
    assert again.text == completion.text


def test_same_seed_same_text_different_seed_differs(loaded) -> None:
    backend, _ = loaded
    texts = [
        backend.generate(_request(Prompt.completion("x = "), temperature=1.0, seed=seed, max_tokens=24)).text
        for seed in (7, 7, 8)
    ]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_stop_sequence_cuts_the_text(loaded) -> None:
    backend, _ = loaded
    full = backend.generate(_request(Prompt.completion("abc"), max_tokens=16)).text
    stop = full[4:6]
    assert stop and stop not in full[:4]
    cut = backend.generate(_request(Prompt.completion("abc", stop=(stop,)), max_tokens=16))
    assert cut.text == full[: full.index(stop)]
    assert cut.finish_reason == "stop"


def test_prompt_longer_than_context_is_a_sample_error(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, ctx_size=256)
    backend.start()
    try:
        failed = backend.generate(_request(Prompt.completion("y" * 400)))
        assert failed.finish_reason == "error"
        assert "longer than the context" in failed.error and "--ctx-size" in failed.error
        assert "\n" not in failed.error
        fine = backend.generate(_request(Prompt.completion("y"), max_tokens=4))
        assert fine.error is None and fine.text
    finally:
        backend.close()
        backend.close()


def test_chat_template_from_gguf(tiny_chat_gguf: Path) -> None:
    backend = _backend(tiny_chat_gguf)
    facts = backend.start()
    try:
        assert facts["chat_template"] is True
        assert backend.default_prompt_style() == "chat"
        prompt = Prompt.chat(("system", "be brief"), ("user", "hi"))
        first = backend.generate(_request(prompt, max_tokens=8))
        second = backend.generate(_request(prompt, max_tokens=8))
        assert first.error is None and first.text == second.text
        # <|system|>be brief\n<|user|>hi\n<|assistant|> as bytes (spaces as 3-byte "▁"), after BOS
        rendered = "<|system|>be brief\n<|user|>hi\n<|assistant|>"
        assert first.prompt_tokens == 1 + len(rendered.encode()) + 2 * (rendered.count(" ") + 1)
        assert first.time_to_first_token_s is not None
    finally:
        backend.close()


def test_chat_prompt_without_template_is_bad_input(loaded) -> None:
    backend, _ = loaded
    with pytest.raises(BadInput, match="no chat template"):
        backend.generate(_request(Prompt.chat(("user", "hi"))))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="model file not found"):
        _backend(tmp_path / "absent.gguf").start()


def test_not_a_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("this is not a model\n")
    with pytest.raises(BadInput, match="is not a GGUF model"):
        _backend(fake).start()


def test_architecture_llama_cpp_cannot_load(tmp_path: Path) -> None:
    model = write_tiny_gguf(tmp_path / "odd.gguf", architecture="nosucharch")
    with pytest.raises(BadInput) as info:
        _backend(model).start()
    assert "cannot load architecture 'nosucharch'" in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_gpu_layers_value(tiny_gguf: Path) -> None:
    with pytest.raises(BadInput, match="--gpu-layers"):
        _backend(tiny_gguf, gpu_layers="lots").start()


def test_negative_parallel_sequences_is_bad_input_before_the_model_loads(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, parallel_sequences=-1)
    with pytest.raises(BadInput, match="--parallel-sequences -1 is negative") as info:
        backend.start()
    assert "0 for the default" in info.value.fix
    assert backend._llm is None


def test_gpu_layers_all_loads_on_cpu_build(tiny_gguf: Path) -> None:
    backend = _backend(tiny_gguf, gpu_layers="all")
    facts = backend.start()
    backend.close()
    assert facts["gpu_layers"] == -1


def test_thinking_is_split_off_unless_kept() -> None:
    from bench_runner_core.plugins._common import split_thinking

    assert split_thinking("<think>hmm</think>\nanswer", keep=False) == ("answer", "hmm")
    assert split_thinking("<think>hmm</think>\nanswer", keep=True) == ("<think>hmm</think>\nanswer", None)


def test_registration_does_not_import_llama_cpp() -> None:
    code = (
        "import sys\n"
        "from bench_runner_core.plugins.llama import llama_cpp as p\n"
        "seen = []\n"
        "p.bench_runner_register_backends(register=lambda *a, **k: seen.append((a, k)))\n"
        "p.bench_runner_register_options(register=seen.append)\n"
        "assert 'llama_cpp' not in sys.modules, 'imported'\n"
        "name, factory = seen[0][0][:2]\n"
        "assert name == 'llama_cpp' and seen[0][1]['fallback'] is True\n"
        "print(len(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 6


def test_handles_gguf_models_only() -> None:
    def config(model: str | None) -> RunConfig:
        return RunConfig(benchmark="b", backend="", model=model)

    assert plugin._handles(config("/m/Qwen.Q4_K_M.GGUF"))
    assert not plugin._handles(config("gpt-4o"))
    assert not plugin._handles(config(None))


def test_close_during_generation_stops_it_cleanly(tiny_gguf: Path) -> None:
    import threading

    backend = _backend(tiny_gguf, ctx_size=2048, parallel_sequences=1)
    backend.start()
    result: list = []
    worker = threading.Thread(
        target=lambda: result.append(backend.generate(_request(Prompt.completion("z"), max_tokens=1900)))
    )
    worker.start()
    slot = backend._batch._slots[0]
    while slot.seq is None or not slot.seq.out:  # generating
        time.sleep(0.001)
    backend.close()  # must wait for the generation to stop, not free the model under it
    worker.join(30)
    assert not worker.is_alive()
    assert result and result[0].completion_tokens < 1900
    with pytest.raises(RuntimeError, match="not started, or already closed"):
        backend.generate(_request(Prompt.completion("z")))


def test_close_during_a_chat_format_generation_waits_for_it(tiny_gguf: Path) -> None:
    # --chat-format runs through llama-cpp-python's Llama, not the batch decoder; its chat call takes no
    # stopping criteria, so close waits for the text to end rather than free the model under it
    import threading

    backend = _backend(tiny_gguf, ctx_size=2048, chat_format="chatml")
    backend.start()
    assert backend._batch is None
    result: list = []
    prompt = Prompt.chat(("user", "z"))
    worker = threading.Thread(target=lambda: result.append(backend.generate(_request(prompt, max_tokens=1900))))
    worker.start()
    while not backend._lock.locked():
        time.sleep(0.001)
    time.sleep(0.02)
    backend.close()
    worker.join(30)
    assert result and result[0].error is None and result[0].completion_tokens == 1900
