"""llama_server against a real server process on loopback, serving the tiny GGUF."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.plugins import openai as openai_plugin
from bench_runner_core.plugins.llama import llama_server as plugin
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig
from tests.fixtures.tiny_gguf import write_tiny_gguf

pytestmark = pytest.mark.slow


def _config(model: Path | str, backend: str = "llama_server", **options: object) -> RunConfig:
    return RunConfig(benchmark="b", backend=backend, model=str(model), options=options)


def _request(prompt: Prompt, **params: object) -> GenerationRequest:
    return GenerationRequest(problem_id="p", sample_index=0, prompt=prompt, params=GenerationParams(**params))


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tiny_chat_gguf: Path):
    backend = plugin._factory(_config(tiny_chat_gguf, parallel=2), None)
    facts = backend.start()
    yield backend, facts
    backend.close()
    assert not _running(facts["server_pid"])


def test_server_generates_chat_and_completion(server) -> None:
    backend, facts = server
    assert facts["server_url"].startswith("http://127.0.0.1:")
    assert facts["architecture"] == "llama" and facts["model_file"] == "tiny-chat.gguf"
    assert backend.concurrency == 2
    assert backend.default_prompt_style() == "chat"
    chat = backend.generate(_request(Prompt.chat(("user", "hi")), max_tokens=8, temperature=0.7, seed=11))
    again = backend.generate(_request(Prompt.chat(("user", "hi")), max_tokens=8, temperature=0.7, seed=11))
    assert chat.error is None and chat.text and chat.text == again.text
    assert chat.completion_tokens >= 8 and chat.prompt_tokens > 0
    completion = backend.generate(_request(Prompt.completion("def f():"), max_tokens=6))
    assert completion.error is None and completion.finish_reason == "length"


def test_server_output_matches_in_process_generation(server, tiny_chat_gguf: Path) -> None:
    from bench_runner_core.plugins.llama import llama_cpp

    backend, _ = server
    local = llama_cpp._factory(_config(tiny_chat_gguf, backend="llama_cpp"), None)
    local.start()
    try:
        prompt = Prompt.completion("def add(a, b):")
        assert (
            backend.generate(_request(prompt, max_tokens=10)).text
            == local.generate(_request(prompt, max_tokens=10)).text
        )
    finally:
        local.close()


def test_openai_backend_against_the_same_server(server, monkeypatch) -> None:
    _, facts = server
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = openai_plugin._factory(_config("tiny", backend="openai", base_url=facts["server_url"]), None)
    started = client.start()
    assert started["base_url"] == facts["server_url"]
    completion = client.generate(_request(Prompt.chat(("user", "hi")), max_tokens=5, seed=1))
    assert completion.error is None and completion.text
    assert completion.completion_tokens >= 5 and completion.prompt_tokens > 0
    client.close()


CHILD = textwrap.dedent(
    """
    import sys, time
    from bench_runner_core.logs import configure_logging
    from bench_runner_core.plugins.llama import llama_server
    from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig

    configure_logging()
    config = RunConfig(benchmark="b", backend="llama_server", model=sys.argv[1])
    backend = llama_server._factory(config, None)
    facts = backend.start()
    print(facts["server_pid"], flush=True)
    while True:
        backend.generate(GenerationRequest(problem_id="p", sample_index=0, prompt=Prompt.completion("x"),
                                           params=GenerationParams(max_tokens=4)))
        time.sleep(0.05)
    """
)


def test_killing_the_parent_leaves_no_server(tiny_gguf: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_gguf)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        server_pid = int(parent.stdout.readline())
        assert _running(server_pid)
        time.sleep(0.3)  # mid-run: requests are flowing
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while _running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(server_pid)
    finally:
        parent.kill()
        parent.wait()


def test_server_that_cannot_load_the_model(tmp_path: Path) -> None:
    model = write_tiny_gguf(tmp_path / "odd.gguf", architecture="nosucharch")
    backend = plugin._factory(_config(model, server_timeout=60), None)
    started = time.monotonic()
    with pytest.raises(BadInput) as info:
        backend.start()
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert "exited during startup" in message and "\n" not in message
    assert "nosucharch" in message or "Failed to load model" in message
    backend.close()


def test_parallel_requests_to_the_bundled_server_are_warned_about(tiny_gguf: Path) -> None:
    import structlog

    from bench_runner_core.plugins.llama._gguf import read_gguf

    info = read_gguf(tiny_gguf)
    for parallel, warned in ((1, False), (4, True)):
        backend = plugin._factory(_config(tiny_gguf, parallel=parallel), None)
        with structlog.testing.capture_logs() as logs:
            backend._command(tiny_gguf, info, 512, 1)
        events = [entry for entry in logs if entry["event"] == "llama_server_one_request_at_a_time"]
        assert bool(events) is warned
        assert not events or "--server-bin" in events[0]["fix"]


def test_missing_server_binary(tiny_gguf: Path) -> None:
    with pytest.raises(BadInput, match="--server-bin /no/such/llama-server: no such executable"):
        plugin._factory(_config(tiny_gguf, server_bin="/no/such/llama-server"), None).start()


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-llama-server"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_server_binary_that_exits_early(tmp_path: Path, tiny_gguf: Path) -> None:
    fake = _script(tmp_path, 'echo "loading $2"\necho "error: unsupported flag" >&2\nexit 3\n')
    with pytest.raises(BadInput) as info:
        plugin._factory(_config(tiny_gguf, server_bin=fake), None).start()
    message = str(info.value)
    assert "exited during startup (code 3)" in message
    assert f"loading {tiny_gguf}" in message and "error: unsupported flag" in message


def test_server_that_never_answers_is_stopped_at_the_bound(tmp_path: Path, tiny_gguf: Path) -> None:
    pidfile = tmp_path / "sleeper.pid"
    fake = _script(tmp_path, f'echo $$ > {pidfile}\necho "still loading"\nexec sleep 600\n')
    started = time.monotonic()
    with pytest.raises(BadInput, match=r"not ready after 1.5s: still loading"):
        plugin._factory(_config(tiny_gguf, server_bin=fake, server_timeout=1.5), None).start()
    assert time.monotonic() - started < 10
    assert not _running(int(pidfile.read_text()))
