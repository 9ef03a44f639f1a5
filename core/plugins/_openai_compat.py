"""Generation through an OpenAI-compatible HTTP API, shared by the openai, llama_server and ollama backends."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog

from bench_runner_core.api import BadInput, Option
from bench_runner_core.plugins import _common
from bench_runner_core.plugins._http import Client, RequestFailed, Transient
from bench_runner_core.records import Completion, GenerationParams, GenerationRequest, PromptStyle, RunConfig

log = structlog.get_logger()
HTTP_GROUP = "HTTP backends (openai, llama_server, ollama)"

HTTP_OPTIONS = (
    Option(
        name="stream",
        type="bool",
        default=False,
        help="stream answers, to measure time to first token (usage then needs server support)",
        group=HTTP_GROUP,
    ),
    Option(name="request_timeout", type="float", default=600.0, help="seconds per request", group=HTTP_GROUP),
    Option(
        name="retries",
        type="int",
        default=5,
        help="retries of a request after 429, 5xx, timeouts or connection errors (exponential backoff)",
        group=HTTP_GROUP,
    ),
)
CONCURRENCY = Option(
    name="concurrency", type="int", default=4, help="requests in flight at once (openai, ollama)", group=HTTP_GROUP
)
# OpenAI itself accepts at most four stop sequences; the rest are applied here
MAX_SERVER_STOPS = 4


def make_client(config: RunConfig, base_url: str, *, api_key: str | None = None, key_source: str = "") -> Client:
    return Client(
        base_url,
        api_key=api_key,
        key_source=key_source,
        timeout=float(_common.option(config, "request_timeout", 600.0)),
        attempts=int(_common.option(config, "retries", 5)) + 1,
    )


def _cut_at_stops(text: str, stops: list[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class CompatBackend:
    """Sends each request to ``/chat/completions`` or ``/completions`` according to its prompt style."""

    concurrency = 1
    #: llama.cpp servers take top_k/min_p/repeat_penalty; OpenAI rejects unknown fields
    extended_sampling = False

    def __init__(self, config: RunConfig) -> None:
        self._config = config
        self._client: Client | None = None
        self._model: str | None = config.model
        self._keep_thinking = bool(_common.option(config, "keep_thinking", False))
        self._stream = bool(_common.option(config, "stream", False))
        price_in, price_out = _common.option(config, "price_in"), _common.option(config, "price_out")
        self._prices = (float(price_in or 0.0), float(price_out or 0.0)) if (price_in or price_out) else None

    def default_prompt_style(self) -> PromptStyle:
        return "chat"

    def _payload(self, request: GenerationRequest, stops: list[str]) -> tuple[str, dict[str, Any]]:
        params: GenerationParams = request.params
        prompt = request.prompt
        payload: dict[str, Any] = {"max_tokens": params.max_tokens, "temperature": params.temperature}
        if self._model:
            payload["model"] = self._model
        if params.top_p != 1.0:
            payload["top_p"] = params.top_p
        if params.seed is not None:
            payload["seed"] = params.seed
        if stops:
            payload["stop"] = stops[:MAX_SERVER_STOPS]
        extra = {"top_k": params.top_k, "min_p": params.min_p, "repeat_penalty": params.repeat_penalty}
        neutral = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
        payload |= {k: v for k, v in extra.items() if self.extended_sampling or v != neutral[k]}
        if self._stream:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
        if prompt.style == "chat":
            payload["messages"] = [{"role": m.role, "content": m.content} for m in prompt.messages]
            return "/chat/completions", payload
        payload["prompt"] = prompt.text
        return "/completions", payload

    def generate(self, request: GenerationRequest) -> Completion:
        if self._client is None:
            raise RuntimeError("generate() before start()")
        stops = [*request.prompt.stop, *request.params.stop]
        path, payload = self._payload(request, stops)
        started = time.perf_counter()
        try:
            answer, ttft = self._client.post_json(path, payload)
        except RequestFailed as exc:
            return self._failed(str(exc), started)
        except Transient as exc:
            if exc.unreachable:
                raise BadInput(f"cannot reach {self._client.base_url}: {exc}", "is the server still running?") from exc
            return self._failed(f"gave up after retries: {exc}", started)
        duration = time.perf_counter() - started
        return self._completion(answer, ttft, duration, stops)

    def _completion(
        self, answer: Mapping[str, Any], ttft: float | None, duration: float, stops: list[str]
    ) -> Completion:
        choices = answer.get("choices") or [{}]
        choice = choices[0]
        message = choice.get("message") or {}
        raw = (message.get("content") if message else choice.get("text")) or ""
        reasoning = message.get("reasoning_content") or choice.get("reasoning_content")
        raw, stopped = _cut_at_stops(raw, stops)
        prompt_tokens, completion_tokens = _common.usage_numbers(answer.get("usage"))
        timings = answer.get("timings") or {}
        if ttft is None and timings.get("prompt_ms") is not None:
            ttft = float(timings["prompt_ms"]) / 1000.0
        cost = None
        if self._prices and prompt_tokens is not None and completion_tokens is not None:
            cost = (prompt_tokens * self._prices[0] + completion_tokens * self._prices[1]) / 1_000_000
        return _common.completion(
            raw,
            keep_thinking=self._keep_thinking,
            finish="stop" if stopped else (choice.get("finish_reason") or "stop"),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            ttft=ttft,
            duration=duration,
            speed=timings.get("predicted_per_second"),
            cost=cost,
            reasoning=reasoning,
        )

    def _failed(self, message: str, started: float) -> Completion:
        return _common.failed("backend_sample_failed", message, started)

    def close(self) -> None:
        self._client = None
