"""One sequence of the batch decoder (a helper module, not a plugin): its cache stream, its sampler chain, and
llama-cpp-python's rules for each token it generates, kept as ``Llama.create_completion`` applies them."""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

import attrs

from bench_runner_core.records import GenerationParams

# llama-cpp-python's default last_n_tokens_size: the window its repeat penalty looks back over
PENALTY_LAST_N = 64
# tokens a sequence may run past its budget while a multi-byte character completes (see _utf8_tail)
UTF8_SLACK = 3


@attrs.frozen(kw_only=True)
class Decoded:
    """One finished sequence. Times are ``time.perf_counter()`` readings."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    started: float
    first_token_at: float | None
    ended: float
    error: str | None = None


class Slot:
    """One llama.cpp sequence id, its cache stream, and the tokens whose cells it holds."""

    def __init__(self, seq_id: int) -> None:
        self.seq_id = seq_id
        self.cached: list[int] = []
        self.seq: Seq | None = None
        self.used_at = 0


class Seq:
    """A request: waiting, then bound to a slot (its prompt filling), then generating."""

    def __init__(self, tokens: list[int], stops: list[str], params: GenerationParams, max_tokens: int) -> None:
        self.prompt = tokens
        self.stops = [stop.encode("utf-8") for stop in stops if stop]
        self.params = params
        self.max_tokens = max_tokens
        self.future: Future[Decoded] = Future()
        self.slot: Slot | None = None
        self.sampler: Any = None
        # the token its next decode row feeds: the last prompt token, then each sampled one
        self.next_row: int | None = None
        self.out: list[int] = []
        self.text = b""
        self.utf8_pending = 0
        self.started = 0.0
        self.first_at: float | None = None

    def take(self, token: int, piece: bytes, cells: int) -> str | None:
        """Add a generated token (not an end of generation) and its text: why the sequence ends, or None.

        ``Llama.create_completion``'s rules: a stop sequence ends it (cut off), unless a
        multi-byte character is unfinished; then its token budget; then its stream of
        ``cells`` being full (a long unfinished character).
        """
        self.out.append(token)
        self.text += piece
        self.utf8_pending = _utf8_tail(self.text, self.utf8_pending)
        if self.utf8_pending > 0:
            self.utf8_pending -= 1
        elif hits := [stop for stop in self.stops if stop in self.text]:
            self.text = self.text[: self.text.index(hits[0])]
            return "stop"
        elif len(self.out) >= self.max_tokens:
            return "length"
        if len(self.prompt) + len(self.out) > cells:
            return "length"
        self.next_row = token
        return None

    def decoded(self, reason: str, error: str | None) -> Decoded:
        return Decoded(
            text=self.text.decode("utf-8", errors="ignore"),
            finish_reason=reason,
            prompt_tokens=len(self.prompt),
            completion_tokens=len(self.out),
            started=self.started,
            first_token_at=self.first_at,
            ended=time.perf_counter(),
            error=error,
        )


class Fill:
    """A prompt (but its last token) being decoded for ``owner``; ``followers`` have the same prompt."""

    def __init__(self, owner: Seq, head: list[int]) -> None:
        self.owner = owner
        self.head = head
        self.done = 0
        self.followers: list[Seq] = []


def sampler_chain(lib: Any, n_vocab: int, params: GenerationParams) -> Any:
    """The chain ``Llama.create_completion`` builds for these settings, in the same order."""
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    parts = [lib.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, params.repeat_penalty, 0.0, 0.0)]
    if params.temperature == 0.0:
        parts.append(lib.llama_sampler_init_greedy())
    else:
        seed = params.seed if params.seed is not None else lib.LLAMA_DEFAULT_SEED
        parts += [
            lib.llama_sampler_init_top_k(params.top_k),
            lib.llama_sampler_init_typical(1.0, 1),
            lib.llama_sampler_init_top_p(params.top_p, 1),
            lib.llama_sampler_init_min_p(params.min_p, 1),
            lib.llama_sampler_init_temp(params.temperature),
            lib.llama_sampler_init_dist(seed & 0xFFFFFFFF),
        ]
    for part in parts:
        lib.llama_sampler_chain_add(chain, part)
    return chain


def _utf8_tail(text: bytes, pending: int) -> int:
    """llama-cpp-python's count of tokens to wait for an unfinished UTF-8 character, kept as it computes it."""
    for k, char in enumerate(text[-3:]):
        k = 3 - k
        for num, pattern in ((2, 192), (3, 224), (4, 240)):
            if num > k and pattern & char == pattern:
                pending = num - k
    return pending
