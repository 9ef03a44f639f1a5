"""The openai backend against real HTTP servers on 127.0.0.1 that answer as scripted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.plugins import openai as plugin
from bench_runner_core.records import GenerationParams, GenerationRequest, Prompt, RunConfig
from tests.fixtures.json_server import serve_in_threads

KEY = "sk-test-secret-4242"


class Scripted(ThreadingHTTPServer):
    """Answers POSTs with the next (status, body) of ``script`` (the last one repeats); records requests."""

    daemon_threads = True

    def __init__(self, script: list[tuple[int, dict]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.requests: list[tuple[str, dict, dict]] = []
        self.models_status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.requests.append(("GET " + self.path, dict(self.headers), {}))
        status = self.server.models_status
        self._answer(status, {"data": [{"id": "tiny"}]} if status == 200 else self.server.script[0][1])

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(("POST " + self.path, dict(self.headers), payload))
        status, body = self.server.script.pop(0) if len(self.server.script) > 1 else self.server.script[0]
        if isinstance(body, list):
            self._stream(body)
        else:
            self._answer(status, body)

    def _stream(self, events: list) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in events:
            if event == "pause":
                time.sleep(0.2)
                continue
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


@pytest.fixture
def serve() -> Iterator:
    yield from serve_in_threads(Scripted)


CHAT_OK = {
    "choices": [
        {"message": {"role": "assistant", "content": "<think>plan</think>\nreturn 1"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 11, "completion_tokens": 5},
}
BUSY = {"error": {"message": "overloaded"}}


def _backend(url: str, monkeypatch: pytest.MonkeyPatch, **options: object) -> plugin.OpenAIBackend:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = RunConfig(benchmark="b", backend="openai", model="tiny", options={"base_url": url, **options})
    return plugin._factory(config, None)


def _request(**params: object) -> GenerationRequest:
    prompt = Prompt.chat(("user", "write f"), stop=("\nclass",))
    return GenerationRequest(problem_id="p", sample_index=0, prompt=prompt, params=GenerationParams(**params))


def test_retries_503_twice_then_succeeds(serve, monkeypatch, capsys) -> None:
    server = serve([(503, BUSY), (503, BUSY), (200, CHAT_OK)])
    backend = _backend(server.url, monkeypatch, price_in=2.0, price_out=10.0)
    facts = backend.start()
    completion = backend.generate(_request(seed=3))
    posts = [r for r in server.requests if r[0].startswith("POST")]
    assert len(posts) == 3
    assert completion.error is None
    assert completion.text == "return 1"
    assert completion.thinking == "plan"
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 5)
    assert completion.cost == pytest.approx((11 * 2.0 + 5 * 10.0) / 1e6)
    method, headers, payload = posts[-1]
    assert method == "POST /v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert payload["model"] == "tiny" and payload["seed"] == 3 and payload["stop"] == ["\nclass"]
    assert payload["messages"] == [{"role": "user", "content": "write f"}]
    assert "top_k" not in payload  # OpenAI rejects fields it does not know
    logged = capsys.readouterr()
    assert logged.err.count("backend_request_retry") + logged.out.count("backend_request_retry") == 2
    assert KEY not in logged.err + logged.out + json.dumps(facts)


def test_401_fails_fast_with_a_clear_message(serve, monkeypatch) -> None:
    server = serve([(401, {"error": {"message": "Incorrect API key provided"}})])
    server.models_status = 401
    backend = _backend(server.url, monkeypatch)
    started = time.monotonic()
    with pytest.raises(BadInput) as info:
        backend.start()
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "rejected the API key (HTTP 401: Incorrect API key provided)" in message
    assert "OPENAI_API_KEY" in message and KEY not in message
    assert len(server.requests) == 1


def test_401_during_generation_stops_the_run(serve, monkeypatch) -> None:
    server = serve([(401, {"error": {"message": "key revoked"}})])
    backend = _backend(server.url, monkeypatch)
    backend.start()
    with pytest.raises(BadInput, match="HTTP 401: key revoked"):
        backend.generate(_request())


def test_bad_request_fails_only_the_sample(serve, monkeypatch) -> None:
    server = serve([(400, {"error": {"message": "context too long"}})])
    backend = _backend(server.url, monkeypatch)
    backend.start()
    completion = backend.generate(_request())
    assert completion.finish_reason == "error"
    assert completion.error == "HTTP 400: context too long"
    assert len([r for r in server.requests if r[0].startswith("POST")]) == 1


def test_retries_are_bounded(serve, monkeypatch) -> None:
    server = serve([(429, BUSY)])
    backend = _backend(server.url, monkeypatch, retries=2)
    backend.start()
    completion = backend.generate(_request())
    assert completion.finish_reason == "error" and "HTTP 429" in completion.error
    assert len([r for r in server.requests if r[0].startswith("POST")]) == 3


def test_unreachable_endpoint_is_bad_input(monkeypatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = _backend(f"http://127.0.0.1:{port}/v1", monkeypatch, retries=1)
    with pytest.raises(BadInput, match="cannot reach"):
        backend.start()


def test_missing_named_key_variable(monkeypatch) -> None:
    monkeypatch.delenv("BENCH_TEST_KEY", raising=False)
    backend = _backend("http://127.0.0.1:9/v1", monkeypatch, api_key_env="BENCH_TEST_KEY")
    with pytest.raises(BadInput, match=r"\$BENCH_TEST_KEY is not set"):
        backend.start()


def test_completions_api_and_client_side_stops(serve, monkeypatch) -> None:
    answer = {"choices": [{"text": "    return a\nclass X: pass", "finish_reason": "length"}], "usage": None}
    server = serve([(200, answer)])
    backend = _backend(server.url, monkeypatch, api="completions")
    backend.start()
    assert backend.default_prompt_style() == "completion"
    stops = ("\ndef", "\nif", "\nprint", "\n#", "\nclass")
    prompt = Prompt.completion("def f(a):\n", stop=stops)
    completion = backend.generate(
        GenerationRequest(problem_id="p", sample_index=0, prompt=prompt, params=GenerationParams())
    )
    _, _, payload = server.requests[-1]
    assert server.requests[-1][0] == "POST /v1/completions"
    assert payload["prompt"] == "def f(a):\n" and len(payload["stop"]) == 4
    assert completion.text == "    return a"  # the fifth stop is applied here
    assert completion.finish_reason == "stop"
    assert completion.prompt_tokens is None and completion.cost is None


def test_streaming_measures_time_to_first_token(serve, monkeypatch) -> None:
    events = [
        {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]},
        "pause",
        {"choices": [{"delta": {"reasoning_content": "hmm"}, "finish_reason": None}]},
        {"choices": [{"delta": {"content": "return "}, "finish_reason": None}]},
        {"choices": [{"delta": {"content": "2"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3}},
    ]
    server = serve([(200, events)])
    backend = _backend(server.url, monkeypatch, stream=True)
    backend.start()
    completion = backend.generate(_request())
    _, _, payload = server.requests[-1]
    assert payload["stream"] is True and payload["stream_options"] == {"include_usage": True}
    assert completion.text == "return 2" and completion.thinking == "hmm"
    assert completion.finish_reason == "stop"
    assert (completion.prompt_tokens, completion.completion_tokens) == (4, 3)
    assert 0.2 <= completion.time_to_first_token_s <= completion.duration_s
