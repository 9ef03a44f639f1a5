"""What every model backend shares: option lookup, the thinking split, token counts, completions."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog

from bench_runner_core.api import Option
from bench_runner_core.records import Completion, RunConfig

log = structlog.get_logger()

KEEP_THINKING = Option(
    name="keep_thinking",
    type="bool",
    default=False,
    help="keep <think>...</think> text in the answer instead of splitting it off before parsing",
    group="model backends",
)


def option(config: RunConfig, name: str, default: Any = None) -> Any:
    """An option's value, or ``default`` when the kernel left it unset."""
    value = config.options.get(name)
    return default if value is None else value


def split_thinking(text: str, keep: bool) -> tuple[str, str | None]:
    """``(answer, thinking)``: reasoning sections removed unless ``keep``."""
    if keep:
        return text, None
    from bench_runner_parsers.code import strip_thinking

    return strip_thinking(text)


def usage_numbers(usage: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    if not usage:
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (int(prompt) if prompt is not None else None, int(completion) if completion is not None else None)


def rate(tokens: int | None, seconds: float | None) -> float | None:
    if not tokens or not seconds or seconds <= 0:
        return None
    return tokens / seconds


def completion(
    raw: str,
    *,
    keep_thinking: bool,
    finish: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    ttft: float | None,
    duration: float,
    speed: float | None = None,
    cost: float | None = None,
    reasoning: str | None = None,
) -> Completion:
    """A finished sample: the thinking split off ``raw`` (plus a server's separate ``reasoning``), its timings.

    ``speed`` defaults to the decode rate: completion tokens over the time after the first token.
    """
    text, thinking = split_thinking(raw, keep_thinking)
    if reasoning and not keep_thinking:
        thinking = reasoning if thinking is None else f"{reasoning}\n{thinking}"
    return Completion(
        text=text,
        finish_reason=finish,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        time_to_first_token_s=ttft,
        duration_s=duration,
        tokens_per_second=speed or rate(completion_tokens, duration - (ttft or 0.0)),
        cost=cost,
        thinking=thinking,
    )


def failed(event: str, message: str, started: float) -> Completion:
    """One sample that failed (the run goes on), logged as ``event``."""
    log.warning(event, error=message)
    return Completion(text="", finish_reason="error", duration_s=time.perf_counter() - started, error=message)
