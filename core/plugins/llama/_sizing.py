"""How many sequences the batch decoder runs at once (a helper module, not a plugin): what was asked, capped by
the memory their caches take."""

from __future__ import annotations

from typing import Any

import structlog

from bench_runner_core.machine import available_memory

log = structlog.get_logger()

# the share of available memory the sequences' caches may take
MEMORY_SHARE = 0.25


def plan_sequences(requested: int, n_samples: int, cache_bytes: int, budget: int) -> int:
    """How many sequences to decode at once: ``requested``, or the default for 0, capped by memory.

    The default runs the samples of one problem together when ``-n`` > 1 and a few
    problems at once otherwise (at least 4, at most 16). ``cache_bytes`` is one
    sequence's cache (``--ctx-size`` tokens); ``budget`` what all of them may take.
    """
    wanted = requested if requested > 0 else max(4, min(n_samples, 16))
    fits = max(1, budget // max(1, cache_bytes))
    if wanted > fits:
        log.warning(
            "llama_cpp_fewer_sequences",
            requested=wanted,
            using=fits,
            reason=f"{wanted} caches of {cache_bytes / 2**20:.0f} MiB are more than {budget / 2**20:.0f} MiB",
            fix="lower --ctx-size or --parallel-sequences",
        )
    return min(wanted, fits)


def memory_budget() -> int:
    """Bytes the sequences' caches may take: a share of the memory available now (2 GiB if unknown)."""
    available = available_memory()
    return int(available * MEMORY_SHARE) if available is not None else 2**31


def cache_bytes_per_token(llm: Any) -> int:
    """One token's keys and values in every layer, at llama.cpp's default 16 bits."""
    meta, arch = llm.metadata, llm.metadata.get("general.architecture", "")

    def number(key: str, default: int) -> int:
        try:
            return int(meta.get(f"{arch}.{key}", default))
        except (TypeError, ValueError):
            return default

    heads = number("attention.head_count", 1) or 1
    head_dim = number("embedding_length", 0) // heads
    kv_heads = number("attention.head_count_kv", heads)
    widths = number("attention.key_length", head_dim) + number("attention.value_length", head_dim)
    return max(1, number("block_count", 1) * kv_heads * widths * 2)
