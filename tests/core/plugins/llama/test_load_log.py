"""Why a load failed, read from llama.cpp's log lines: each cause gets its own one-line problem and fix.

A real load of an unknown architecture is in test_llama_cpp_backend.py; these feed the
log lines llama.cpp writes for the other causes, which a test machine cannot provoke.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench_runner_core.plugins.llama import _load_log


@pytest.fixture
def log_says(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def say(*lines: str) -> None:
        monkeypatch.setattr(_load_log, "_LOG_LINES", list(lines))

    return say


def test_out_of_memory_with_gpu_layers_says_to_lower_them(log_says: Callable[..., None]) -> None:
    log_says("llama_model_load: loading", "ggml_backend_cuda_buffer_type_alloc_buffer: cudaMalloc failed")
    found = _load_log.failure("big.gguf", "llama", -1)
    assert found.problem == "out of memory loading big.gguf with --gpu-layers all"
    assert "lower --gpu-layers" in found.fix
    assert "--gpu-layers 20" in _load_log.failure("big.gguf", "llama", 20).problem


def test_out_of_memory_on_the_cpu_says_to_shrink_the_context(log_says: Callable[..., None]) -> None:
    log_says("ggml_aligned_malloc: insufficient memory", "llama_init: failed to allocate compute buffers")
    found = _load_log.failure("big.gguf", "llama", 0)
    assert found.problem == "out of memory loading big.gguf" and "--ctx-size" in found.fix


def test_any_other_failure_names_llama_cpp_s_last_error_line(log_says: Callable[..., None]) -> None:
    log_says("llama_model_loader: reading", "gguf_init: error: tensor data is not within file bounds", "done")
    found = _load_log.failure("cut.gguf", "llama", 0)
    assert found.problem == "llama.cpp could not load cut.gguf: gguf_init: error: tensor data is not within file bounds"
    log_says()
    assert _load_log.failure("cut.gguf", None, 0).problem.endswith("llama.cpp refused the file")
