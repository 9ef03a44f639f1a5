"""What every model backend shares: option lookup, the thinking split, token counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench_runner_core.api import Option
from bench_runner_core.records import RunConfig

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
