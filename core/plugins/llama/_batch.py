"""Continuous batching for the ``llama_cpp`` backend (a helper module, not a plugin).

llama-cpp-python's ``Llama`` decodes one sequence at a time. :class:`BatchDecoder`
owns a second llama.cpp context over the same loaded model, with a unified KV
cache shared by up to ``sequences`` sequences, and one thread that decodes all
running sequences in each ``llama_decode`` call. Callers block in
:meth:`BatchDecoder.submit` from as many threads as there are sequences; new
requests join the batch as others finish.

A prompt is evaluated once however many samples share it: requests that arrive
together decode it as one set of tokens tagged with all their sequence ids, and
later ones copy the longest prefix some sequence already holds
(``llama_memory_seq_cp`` only adds ids to the cache cells). Each sequence samples
with its own llama.cpp sampler chain, built exactly as ``Llama.create_completion``
builds it, and applies stop sequences and its token budget exactly as that does.
A greedy batched sample can still differ from the sequential one: llama.cpp's
numbers depend on where a sequence's cells sit in the unified cache and on the
other tokens in its ``llama_decode`` call (``bench/batch_numerics.py``).
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

import attrs
import structlog

from bench_runner_core.records import GenerationParams

log = structlog.get_logger()

# llama-cpp-python's default last_n_tokens_size: the window its repeat penalty looks back over
PENALTY_LAST_N = 64
# how long an idle decoder waits for the other samples of a problem before it starts the batch
GATHER_S = 0.02
# tokens a sequence may run past its budget while a multi-byte character completes (see _utf8_tail)
UTF8_SLACK = 3
_CLOSE = object()


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


def plan_sequences(requested: int, n_samples: int, n_ctx: int, max_tokens: int) -> int:
    """How many sequences to decode at once: ``requested``, or the default for 0, capped by the context.

    The default runs the samples of one problem together when ``-n`` > 1 and a few
    problems at once otherwise (at least 4, at most 16).
    """
    wanted = requested if requested > 0 else max(4, min(n_samples, 16))
    # each running sequence may need its whole token budget in the shared cache
    fits = max(1, n_ctx // max_tokens)
    if wanted > fits:
        log.warning(
            "llama_cpp_fewer_sequences",
            requested=wanted,
            using=fits,
            reason=f"a {n_ctx}-token context holds {fits} sequences of --max-tokens {max_tokens}",
            fix="raise --ctx-size or lower --max-tokens",
        )
    return min(wanted, fits)


class _Slot:
    """One llama.cpp sequence id and the tokens whose KV cells it holds (position i holds ``cached[i]``)."""

    def __init__(self, seq_id: int) -> None:
        self.seq_id = seq_id
        self.cached: list[int] = []
        self.seq: _Seq | None = None
        self.used_at = 0


class _Seq:
    """A request: waiting, then filling its prompt, then generating in a slot."""

    def __init__(self, tokens: list[int], stops: list[str], params: GenerationParams, max_tokens: int) -> None:
        self.prompt = tokens
        self.stops = [stop.encode("utf-8") for stop in stops if stop]
        self.params = params
        self.max_tokens = max_tokens
        self.future: Future[Decoded] = Future()
        self.slot: _Slot | None = None
        self.sampler: Any = None
        self.out: list[int] = []
        self.text = b""
        self.utf8_pending = 0
        self.started = 0.0
        self.first_at: float | None = None

    def budget_left(self) -> int:
        return self.max_tokens + UTF8_SLACK - len(self.out)


class _Fill:
    """Prompt tokens still to decode for one or more sequences with the same prompt and the same cached prefix."""

    def __init__(self, seqs: list[_Seq], tokens: list[int]) -> None:
        self.seqs = seqs
        self.tokens = tokens


class BatchDecoder:
    """Decodes up to ``sequences`` sequences together over ``llm``'s model.

    ``n_ctx`` is the KV cache size, shared by all sequences; it is also the most one
    sequence may use (its prompt plus its completion), as with ``--ctx-size`` today.
    """

    def __init__(self, llm: Any, *, sequences: int, n_ctx: int, n_batch: int) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._model = llm._model.model
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_swa = int(llama_cpp.llama_model_n_swa(self._model))
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        # every running sequence puts one token into each step's batch
        self._ctx = self._new_context(llm.context_params, min(sequences, n_batch), n_ctx, n_batch)
        self.sequences = int(llama_cpp.llama_n_seq_max(self._ctx))
        self.n_ctx = min(n_ctx, int(llama_cpp.llama_n_ctx(self._ctx)))
        self._n_batch = int(llama_cpp.llama_n_batch(self._ctx))
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, self.sequences)
        self._piece = ctypes.create_string_buffer(64)
        self._slots = [_Slot(i) for i in range(self.sequences)]
        self._fills: list[_Fill] = []
        self._waiting: collections.deque[_Seq] = collections.deque()
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._steps = itertools.count(1)
        # cells the admission estimate may fill; lowered if llama.cpp ever finds the cache full first
        self._cap = self.n_ctx
        self._gate = threading.Lock()
        self._open = True
        self._closing = threading.Event()
        self._dead: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="llama-batch", daemon=True)
        self._thread.start()

    @staticmethod
    def supported(llm: Any) -> str | None:
        """Why this model cannot be batched, or None."""
        import llama_cpp

        model = llm._model.model
        if llama_cpp.llama_model_is_recurrent(model) or llama_cpp.llama_model_is_hybrid(model):
            return "recurrent models keep one state per sequence that cannot be shared or trimmed"
        return None

    def _new_context(self, base: Any, sequences: int, n_ctx: int, n_batch: int) -> Any:
        lib = self._lib
        while True:
            params = lib.llama_context_params.from_buffer_copy(base)
            params.n_ctx = n_ctx
            params.n_batch = n_batch
            params.n_ubatch = min(n_batch, params.n_ubatch or n_batch)
            params.n_seq_max = sequences
            # every step here is a batch, and llama.cpp runs batches on n_threads_batch (llama-cpp-python
            # sets it to all logical CPUs); --threads is what the user gave for generation
            params.n_threads_batch = params.n_threads
            # one cache for all sequences: cells of a shared prompt are stored once
            params.kv_unified = True
            ctx = lib.llama_init_from_model(self._model, params)
            if ctx:
                return ctx
            if sequences <= 2:
                raise MemoryError(f"llama.cpp could not create a {n_ctx}-token context for {sequences} sequences")
            log.warning("llama_cpp_fewer_sequences", requested=sequences, using=sequences // 2, reason="out of memory")
            sequences //= 2

    # --- the callers' side -------------------------------------------------------------

    def submit(self, tokens: list[int], stops: list[str], params: GenerationParams) -> Decoded:
        """Decode one sequence from prompt ``tokens``; blocks until it is finished."""
        # as llama-cpp-python does: the budget shrinks to what the context has left
        budget = params.max_tokens if params.max_tokens + len(tokens) < self.n_ctx else self.n_ctx - len(tokens)
        seq = _Seq(tokens, stops, params, budget)
        with self._gate:
            if not self._open or self._closing.is_set():
                raise RuntimeError("the llama_cpp backend is not started, or already closed")
            self._inbox.put(seq)
        return seq.future.result()

    def close(self) -> None:
        """Stop: running sequences end at their next token, waiting ones fail; then free the context."""
        self._closing.set()
        self._inbox.put(_CLOSE)
        self._thread.join()
        lib, self._lib = self._lib, None
        if lib is not None:
            lib.llama_batch_free(self._batch)
            lib.llama_free(self._ctx)

    # --- the decode thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                self._collect()
                self._admit()
                if self._fills or self._generating():
                    self._step()
        except BaseException as exc:  # a llama.cpp failure must not leave callers waiting forever
            self._dead = exc
            log.error("llama_cpp_batch_failed", error=repr(exc))
        self._end_all(self._dead)

    def _generating(self) -> list[_Seq]:
        fills = {id(seq) for fill in self._fills for seq in fill.seqs}
        return [slot.seq for slot in self._slots if slot.seq is not None and id(slot.seq) not in fills]

    def _collect(self) -> None:
        busy = any(slot.seq is not None for slot in self._slots)
        if not busy and not self._waiting:
            self._cap = self.n_ctx
            item = self._inbox.get()
            if item is _CLOSE:
                return
            self._waiting.append(item)
            # the other samples of the problem are being submitted right now: let them share the prompt
            deadline = time.perf_counter() + GATHER_S
            while (left := deadline - time.perf_counter()) > 0:
                try:
                    item = self._inbox.get(timeout=left)
                except queue.Empty:
                    break
                if item is _CLOSE:
                    return
                self._waiting.append(item)
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if item is not _CLOSE:
                self._waiting.append(item)

    def _admit(self) -> None:
        # prompts placed in this round, not decoded yet: an equal prompt joins that fill
        fresh: dict[tuple[int, ...], tuple[_Fill, _Slot | None, int]] = {}
        while self._waiting:
            free = [slot for slot in self._slots if slot.seq is None]
            if not free:
                return
            seq = self._waiting[0]
            twin = fresh.get(tuple(seq.prompt))
            fill, source, keep = twin if twin is not None else (None, *self._best_prefix(seq.prompt))
            target = source if source is not None and source.seq is None else None
            target = target or min(free, key=lambda slot: (len(slot.cached) > 0, slot.used_at))
            if target is not source:
                self._clear(target)
            need = seq.budget_left() + (0 if fill else len(seq.prompt) - keep)
            if not self._room_for(need, protect={target, source}):
                return
            self._waiting.popleft()
            self._place(seq, target, source, keep)
            if fill is not None:
                fill.seqs.append(seq)
            else:
                fill = _Fill([seq], seq.prompt[keep:])
                fresh[tuple(seq.prompt)] = (fill, source, keep)
                self._fills.append(fill)

    def _best_prefix(self, prompt: list[int]) -> tuple[_Slot | None, int]:
        """The slot holding the longest usable prefix of ``prompt`` and how many tokens of it to reuse."""
        best: tuple[_Slot | None, int] = (None, 0)
        for slot in self._slots:
            common = _common_prefix(slot.cached, prompt)
            # at least the last prompt token is decoded again: its logits give the first sample
            keep = min(common, len(prompt) - 1)
            if keep > best[1] and self._can_reuse(slot, keep):
                best = (slot, keep)
        return best

    def _can_reuse(self, slot: _Slot, keep: int) -> bool:
        # a sliding-window cache drops old cells; continuing at `keep` needs the window before it
        pos_min = int(self._lib.llama_memory_seq_pos_min(self._memory, slot.seq_id))
        return 0 <= pos_min <= max(0, keep - self._n_swa) if self._n_swa else pos_min == 0

    def _room_for(self, need: int, protect: set[_Slot | None]) -> bool:
        """Whether ``need`` more cells fit, evicting idle slots' cached tokens (oldest first) to make room."""
        if self._cells_in_use() + need <= self._cap:
            return True
        for slot in sorted(self._slots, key=lambda s: s.used_at):
            if slot.seq is None and slot.cached and slot not in protect:
                self._clear(slot)
                if self._cells_in_use() + need <= self._cap:
                    return True
        # a sequence alone always fits (its budget is capped by the context), so it never waits forever
        return not any(slot.seq is not None for slot in self._slots)

    def _cells_in_use(self) -> int:
        """Cells held (shared prefixes once) plus cells that running sequences may still fill."""
        held = _trie_size([slot.cached for slot in self._slots if slot.cached])
        pending = sum(len(fill.tokens) for fill in self._fills)
        running = sum(slot.seq.budget_left() for slot in self._slots if slot.seq is not None)
        return held + pending + running + len(self._slots)

    def _clear(self, slot: _Slot) -> None:
        self._lib.llama_memory_seq_rm(self._memory, slot.seq_id, -1, -1)
        slot.cached = []

    def _place(self, seq: _Seq, target: _Slot, source: _Slot | None, keep: int) -> None:
        lib = self._lib
        if target is source:
            lib.llama_memory_seq_rm(self._memory, target.seq_id, keep, -1)
        else:
            self._clear(target)
            if source is not None and keep:
                lib.llama_memory_seq_cp(self._memory, source.seq_id, target.seq_id, 0, keep)
        target.cached = seq.prompt[:keep]
        target.seq, seq.slot = seq, target
        seq.sampler = self._sampler(seq.params)
        seq.started = time.perf_counter()

    def _sampler(self, params: GenerationParams) -> Any:
        """The chain ``Llama.create_completion`` builds for these settings, in the same order."""
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        parts = [lib.llama_sampler_init_penalties(self._n_vocab, PENALTY_LAST_N, params.repeat_penalty, 0.0, 0.0)]
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

    def _step(self) -> None:
        """One ``llama_decode``: the next token of every generating sequence, then prompt tokens as room allows."""
        lib, batch = self._lib, self._batch
        entries: list[tuple[int, int, list[_Slot]]] = []  # token, position, the slots it goes to
        samples: list[tuple[int, list[_Seq]]] = []  # batch index of logits, the sequences sampling from them
        for seq in self._generating():
            slot = seq.slot
            assert slot is not None
            samples.append((len(entries), [seq]))
            entries.append((seq.out[-1], len(slot.cached), [slot]))
        taken: list[tuple[_Fill, int]] = []
        for fill in self._fills:
            take = fill.tokens[: self._n_batch - len(entries)]
            if not take:
                break
            slots = [seq.slot for seq in fill.seqs if seq.slot is not None]
            base = len(slots[0].cached)
            entries += [(token, base + k, slots) for k, token in enumerate(take)]
            taken.append((fill, len(take)))
            if len(take) == len(fill.tokens):
                samples.append((len(entries) - 1, list(fill.seqs)))
        wanted = {index for index, _ in samples}
        for i, (token, pos, slots) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = len(slots)
            for j, slot in enumerate(slots):
                batch.seq_id[i][j] = slot.seq_id
            batch.logits[i] = 1 if i in wanted else 0
        batch.n_tokens = len(entries)
        status = lib.llama_decode(self._ctx, batch)
        if status == 1:
            self._make_room()
            return
        if status != 0:
            self._fail([seq for _, seqs in samples for seq in seqs], f"llama_decode returned {status}")
            return
        for token, _, slots in entries:
            for slot in slots:
                slot.cached.append(token)
        for fill, count in taken:
            fill.tokens = fill.tokens[count:]
        self._fills = [fill for fill in self._fills if fill.tokens]
        step = next(self._steps)
        for index, seqs in samples:
            for seq in seqs:
                self._accept(seq, lib.llama_sampler_sample(seq.sampler, self._ctx, index), step)

    def _accept(self, seq: _Seq, token: int, step: int) -> None:
        """``Llama.create_completion``'s per-token rules: end of generation, stop sequences, token budget."""
        if seq.first_at is None:
            seq.first_at = time.perf_counter()
        if self._closing.is_set():
            self._finish(seq, "stop", step)
            return
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            self._finish(seq, "stop", step)
            return
        seq.out.append(token)
        seq.text += self._token_bytes(token)
        seq.utf8_pending = _utf8_tail(seq.text, seq.utf8_pending)
        if seq.utf8_pending > 0:
            seq.utf8_pending -= 1
            return
        hits = [stop for stop in seq.stops if stop in seq.text]
        if hits:
            seq.text = seq.text[: seq.text.index(hits[0])]
            self._finish(seq, "stop", step)
        elif len(seq.out) >= seq.max_tokens:
            self._finish(seq, "length", step)

    def _token_bytes(self, token: int) -> bytes:
        lib, buf = self._lib, self._piece
        n = lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            self._piece = buf = ctypes.create_string_buffer(-n)
            n = lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def _finish(self, seq: _Seq, reason: str, step: int, error: str | None = None) -> None:
        slot = seq.slot
        if slot is not None:
            slot.seq, slot.used_at = None, step
            if error is not None:
                self._clear(slot)
        if seq.sampler is not None:
            self._lib.llama_sampler_free(seq.sampler)
            seq.sampler = None
        seq.future.set_result(
            Decoded(
                text=seq.text.decode("utf-8", errors="ignore"),
                finish_reason=reason,
                prompt_tokens=len(seq.prompt),
                completion_tokens=len(seq.out),
                started=seq.started,
                first_token_at=seq.first_at,
                ended=time.perf_counter(),
                error=error,
            )
        )

    def _make_room(self) -> None:
        """llama.cpp found no cells for the batch (the estimate was short): put the newest sequence back in line."""
        idle = [slot for slot in self._slots if slot.seq is None and slot.cached]
        if idle:
            for slot in idle:
                self._clear(slot)
            return
        running = [slot.seq for slot in self._slots if slot.seq is not None]
        newest = max(running, key=lambda seq: seq.started)
        if len(running) == 1:
            self._fail(
                running,
                f"llama.cpp ran out of context space ({len(newest.prompt)} prompt tokens, --ctx-size {self.n_ctx}); "
                "raise --ctx-size or lower --max-tokens",
            )
            return
        self._drop_from_fills(newest)
        slot = newest.slot
        assert slot is not None
        slot.seq = None
        self._clear(slot)
        self._lib.llama_sampler_free(newest.sampler)
        again = _Seq(newest.prompt, [], newest.params, newest.max_tokens)
        again.stops, again.future = newest.stops, newest.future
        self._waiting.appendleft(again)
        # admit no more than what is running now until sequences finish
        self._cap = min(self._cap, self._cells_in_use())
        log.info("llama_cpp_sequence_requeued", reason="the context is full", cells=self._cap)

    def _drop_from_fills(self, seq: _Seq) -> None:
        for fill in self._fills:
            if seq in fill.seqs:
                fill.seqs.remove(seq)
        self._fills = [fill for fill in self._fills if fill.seqs]

    def _fail(self, seqs: list[_Seq], message: str) -> None:
        log.warning("llama_cpp_sample_failed", error=message, sequences=len(seqs))
        step = next(self._steps)
        for seq in seqs:
            self._drop_from_fills(seq)
            self._finish(seq, "error", step, error=message)

    def _end_all(self, error: BaseException | None) -> None:
        """On close or a crash: running sequences return what they have, waiting ones fail."""
        with self._gate:
            self._open = False
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if item is not _CLOSE:
                self._waiting.append(item)
        step = next(self._steps)
        for slot in self._slots:
            if slot.seq is not None and not slot.seq.future.done():
                if error is None:
                    self._finish(slot.seq, "stop", step)
                else:
                    slot.seq.future.set_exception(error)
        for seq in self._waiting:
            if error is None:
                seq.future.set_exception(RuntimeError("the llama_cpp backend is not started, or already closed"))
            else:
                seq.future.set_exception(error)
        self._waiting.clear()


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _trie_size(lists: list[list[int]]) -> int:
    """Distinct prefixes over ``lists``: the cells they take when common prefixes are shared."""
    ordered = sorted(lists)
    return sum(map(len, ordered)) - sum(_common_prefix(a, b) for a, b in itertools.pairwise(ordered))


def _utf8_tail(text: bytes, pending: int) -> int:
    """llama-cpp-python's count of tokens to wait for an unfinished UTF-8 character, kept as it computes it."""
    for k, char in enumerate(text[-3:]):
        k = 3 - k
        for num, pattern in ((2, 192), (3, 224), (4, 240)):
            if num > k and pattern & char == pattern:
                pending = num - k
    return pending
