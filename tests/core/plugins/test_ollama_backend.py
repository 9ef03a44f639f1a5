"""The ollama backend and ``list_models`` against a loopback server speaking Ollama's API.

Ollama itself cannot run in the test environment; this server answers its
documented endpoints (``/api/tags``, ``/api/show``, ``/v1/chat/completions``).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.plugins import ollama as plugin
from bench_runner_core.plugins.models import list_models
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _backend(url: str, model: str | None) -> plugin.OllamaBackend:
    return plugin._factory(RunConfig(benchmark="b", backend="ollama", model=model, options={"ollama_url": url}), None)


def test_generates_through_the_openai_compatible_api(ollama) -> None:
    server, url = ollama
    backend = _backend(url, "qwen2.5-coder:1.5b")
    facts = backend.start()
    assert facts["quantization"] == "Q4_K_M" and facts["architecture"] == "qwen2"
    assert facts["context_length_trained"] == 32768 and facts["parameters"] == "1.5B"
    request = GenerationRequest(
        problem_id="p", sample_index=0, prompt=Prompt.chat(("user", "f")), params=GenerationParams(seed=2)
    )
    completion = backend.generate(request)
    assert completion.text == "def f():\n    return 1"
    assert (completion.prompt_tokens, completion.completion_tokens) == (9, 7)
    path, body = server.seen[-1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "qwen2.5-coder:1.5b" and body["seed"] == 2


def test_missing_model_says_how_to_pull_it(ollama) -> None:
    _, url = ollama
    # a name without a tag means ":latest", which this server does not have
    with pytest.raises(BadInput, match=r"has no model 'qwen2\.5-coder'; ollama pull qwen2\.5-coder$"):
        _backend(url, "qwen2.5-coder").start()


def test_no_server(monkeypatch) -> None:
    backend = _backend(_closed_port_url(), "x")
    backend._config = RunConfig(
        benchmark="b", backend="ollama", model="x", options={**backend._config.options, "retries": 0}
    )
    with pytest.raises(BadInput, match="no Ollama server answers"):
        backend.start()


def test_ollama_url_forms(monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    assert plugin.ollama_url(None) == "http://0.0.0.0:11500"
    assert plugin.ollama_url("http://box:11434/") == "http://box:11434"


def test_list_models_files_and_ollama(ollama, tmp_path: Path, tiny_gguf: Path, monkeypatch) -> None:
    _, url = ollama
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    folder = tmp_path / "models" / "nested"
    folder.mkdir(parents=True)
    shutil.copy(tiny_gguf, folder / "tiny.gguf")
    os.symlink(folder / "tiny.gguf", tmp_path / "models" / "link.gguf")
    (tmp_path / "models" / "notes.txt").write_text("not a model")
    (tmp_path / "models" / "broken.gguf").write_bytes(b"nope")
    hub = tmp_path / "cache" / "huggingface" / "hub" / "models--x" / "snapshots" / "abc"
    hub.mkdir(parents=True)
    shutil.copy(tiny_gguf, hub / "cached.GGUF")

    found = list_models([str(tmp_path / "models")], url)
    by_name = {m.name: m for m in found}
    assert set(by_name) == {"broken.gguf", "link.gguf", "cached.GGUF", "qwen2.5-coder:1.5b"}  # one entry per file
    assert by_name["link.gguf"].quantization == "F32" and by_name["link.gguf"].architecture == "llama"
    assert by_name["link.gguf"].size_bytes == tiny_gguf.stat().st_size
    assert by_name["broken.gguf"].error
    ollama_entry = by_name["qwen2.5-coder:1.5b"]
    assert (ollama_entry.source, ollama_entry.quantization, ollama_entry.size_bytes) == ("ollama", "Q4_K_M", 986061892)


def test_list_models_without_ollama(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert list_models([str(tmp_path / "absent")], _closed_port_url()) == []
