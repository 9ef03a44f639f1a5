"""Continuous batching for the ``llama_cpp`` backend (a helper module, not a plugin).

llama-cpp-python's ``Llama`` decodes one sequence at a time. :class:`BatchDecoder`
owns a second llama.cpp context over the same loaded model, with one KV cache
stream per sequence, and one thread that decodes the running sequences together.
Callers block in :meth:`BatchDecoder.submit` from as many threads as there are
sequences; new requests join as others finish.

The decoder computes every token the same way, bit for bit, whatever else runs
with it. On the CPU llama.cpp does so under three conditions, measured by
``bench/batch_numerics.py``: each sequence has a cache stream of its own (cells of
other sequences in a shared cache change its attention sums), the weights keep
llama.cpp's plain layout (the repacked layout computes rows in blocks of four),
and llama.cpp's tiled kernel for K-quant matrix products is off
(``GGML_CPU_TILED_MM=0``, set when this module is imported unless the
environment already sets it): from eight rows in a call on, that kernel sums in
another order than the one-row kernel. With these, a row of a ``llama_decode``
call of up to ``MAX_ROWS`` rows is computed as it is alone. A sequence's prompt,
but its last token, is decoded in calls of its own, and the last prompt token and
every generated token as one row of a decode call. ``--parallel-sequences 1``
takes the same path, so batched and one-at-a-time runs give the same texts, and
a rerun repeats its texts whatever the order in which requests arrived. On a GPU
llama.cpp picks kernels by batch size, so there the last bits may differ.

A prompt shared by several samples is evaluated once: its cache stream is copied
(``llama_memory_seq_cp``) to the other sequences. Each sequence samples with its
own llama.cpp sampler chain, built exactly as ``Llama.create_completion`` builds
it, and applies stop sequences and its token budget exactly as that does
(``_sequence.py``). ``_sizing.py`` decides how many sequences run at once.
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import math
import os
import queue
import threading
import time
from typing import Any

import structlog

from bench_runner_core.plugins.llama._sequence import UTF8_SLACK, Decoded, Fill, Seq, Slot, sampler_chain
from bench_runner_core.records import GenerationParams

log = structlog.get_logger()

# llama.cpp reads this once, at its first matrix product: see the module's docstring
os.environ.setdefault("GGML_CPU_TILED_MM", "0")

# how long an idle decoder waits for the other samples of a problem before it starts the batch
GATHER_S = 0.02
# rows per decode call: up to this many, measured, llama.cpp's CPU kernels compute each row as they compute it alone
MAX_ROWS = 16
_CLOSE = object()


class BatchDecoder:
    """Decodes up to ``sequences`` sequences together over ``llm``'s model.

    Each sequence has a cache stream of ``n_ctx`` tokens (``--ctx-size``): the most
    one sequence may use, its prompt plus its completion.
    """

    def __init__(self, llm: Any, *, sequences: int, n_ctx: int, n_batch: int) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._model = llm._model.model
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_swa = int(llama_cpp.llama_model_n_swa(self._model))
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self._ctx = self._new_context(llm.context_params, sequences, n_ctx, n_batch)
        self.sequences = int(llama_cpp.llama_n_seq_max(self._ctx))
        # llama.cpp may round a stream up; a sequence may run UTF8_SLACK tokens past its budget
        self._cells = int(llama_cpp.llama_n_ctx_seq(self._ctx))
        self.n_ctx = min(n_ctx, self._cells - UTF8_SLACK)
        self._n_batch = int(llama_cpp.llama_n_batch(self._ctx))
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(max(self._n_batch, MAX_ROWS), 0, 1)
        self._piece = ctypes.create_string_buffer(64)
        self._slots = [Slot(i) for i in range(self.sequences)]
        self._fills: list[Fill] = []
        self._waiting: collections.deque[Seq] = collections.deque()
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._steps = itertools.count(1)
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
            params.n_ctx = (n_ctx + UTF8_SLACK) * sequences
            params.n_batch = n_batch
            params.n_ubatch = min(n_batch, params.n_ubatch or n_batch)
            params.n_seq_max = sequences
            # llama.cpp runs calls of several tokens on n_threads_batch (llama-cpp-python sets it to all
            # logical CPUs); --threads is what the user gave for generation
            params.n_threads_batch = params.n_threads
            # a cache stream per sequence: see the module's docstring
            params.kv_unified = False
            ctx = lib.llama_init_from_model(self._model, params)
            if ctx:
                return ctx
            if sequences == 1:
                raise MemoryError(f"llama.cpp could not create a {n_ctx}-token context")
            log.warning(
                "llama_cpp_fewer_sequences",
                requested=sequences,
                using=sequences // 2,
                reason="llama.cpp could not allocate the caches",
                fix="lower --ctx-size or --parallel-sequences",
            )
            sequences //= 2

    # --- the callers' side -------------------------------------------------------------

    def submit(self, tokens: list[int], stops: list[str], params: GenerationParams) -> Decoded:
        """Decode one sequence from prompt ``tokens``; blocks until it is finished."""
        # as llama-cpp-python does: the budget shrinks to what the context has left
        budget = params.max_tokens if params.max_tokens + len(tokens) < self.n_ctx else self.n_ctx - len(tokens)
        seq = Seq(tokens, stops, params, budget)
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
                if self._fills:
                    self._fill_step()
                self._decode_rows()
        except BaseException as exc:  # a llama.cpp failure must not leave callers waiting forever
            self._dead = exc
            log.error("llama_cpp_batch_failed", error=repr(exc))
        self._end_all(self._dead)

    def _collect(self) -> None:
        busy = any(slot.seq is not None for slot in self._slots)
        if not busy and not self._waiting:
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
        while self._waiting:
            free = [slot for slot in self._slots if slot.seq is None]
            if not free:
                return
            seq = self._waiting.popleft()
            head = seq.prompt[:-1]
            filling = next((fill for fill in self._fills if fill.head == head), None)
            source = None if filling is not None or not head else self._holder(head)
            if source is not None and source.seq is None:
                slot = source
            else:
                # an empty slot first, then the one idle longest; never the cache about to be copied
                slot = min(free, key=lambda s: (s is source, len(s.cached) > 0, s.used_at))
            self._bind(seq, slot)
            if filling is not None:
                self._clear(slot)
                filling.followers.append(seq)
            elif source is not None:
                self._copy(source, slot, len(head))
                seq.next_row = seq.prompt[-1]
            else:
                self._clear(slot)
                if head:
                    self._fills.append(Fill(seq, head))
                else:
                    seq.next_row = seq.prompt[-1]

    def _holder(self, head: list[int]) -> Slot | None:
        """A slot whose cache holds ``head`` from its start, with every cell still there."""
        for slot in self._slots:
            if slot.cached[: len(head)] == head and len(slot.cached) >= len(head):
                pos_min = int(self._lib.llama_memory_seq_pos_min(self._memory, slot.seq_id))
                # a sliding-window cache drops old cells; continuing needs the window before the prompt's end
                if pos_min == 0 or (self._n_swa and 0 <= pos_min <= max(0, len(head) - self._n_swa)):
                    return slot
        return None

    def _bind(self, seq: Seq, slot: Slot) -> None:
        slot.seq, seq.slot = seq, slot
        seq.sampler = sampler_chain(self._lib, self._n_vocab, seq.params)
        seq.started = time.perf_counter()

    def _clear(self, slot: Slot) -> None:
        self._lib.llama_memory_seq_rm(self._memory, slot.seq_id, -1, -1)
        slot.cached = []

    def _copy(self, source: Slot, target: Slot, keep: int) -> None:
        """``target`` holds ``source``'s first ``keep`` cells (another stream: a copy of the whole stream)."""
        if target is not source:
            self._lib.llama_memory_seq_cp(self._memory, source.seq_id, target.seq_id, -1, -1)
        self._lib.llama_memory_seq_rm(self._memory, target.seq_id, keep, -1)
        target.cached = source.cached[:keep]

    def _decode(self, rows: list[tuple[int, int, Slot]], logits: bool) -> int:
        """One ``llama_decode`` of (token, position, slot) rows; the rows' cells are cached on success."""
        batch = self._batch
        for i, (token, pos, slot) in enumerate(rows):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0] = slot.seq_id
            batch.logits[i] = logits
        batch.n_tokens = len(rows)
        status = int(self._lib.llama_decode(self._ctx, batch))
        if status == 0:
            for token, _, slot in rows:
                slot.cached.append(token)
        return status

    def _fill_step(self) -> None:
        """The next ``n_batch`` tokens of the oldest prompt, in a call of their own."""
        fill = self._fills[0]
        slot = fill.owner.slot
        assert slot is not None
        chunk = fill.head[fill.done : fill.done + self._n_batch]
        status = self._decode([(token, fill.done + k, slot) for k, token in enumerate(chunk)], logits=False)
        if status != 0:
            self._fills.pop(0)
            self._fail([fill.owner, *fill.followers], status)
            return
        fill.done += len(chunk)
        if fill.done == len(fill.head):
            self._fills.pop(0)
            fill.owner.next_row = fill.owner.prompt[-1]
            for seq in fill.followers:
                assert seq.slot is not None
                self._copy(slot, seq.slot, fill.done)
                seq.next_row = seq.prompt[-1]

    def _decode_rows(self) -> None:
        """The next row of every generating sequence, in as few calls of at most ``MAX_ROWS`` as evenly filled."""
        ready = [slot.seq for slot in self._slots if slot.seq is not None and slot.seq.next_row is not None]
        if not ready:
            return
        size = math.ceil(len(ready) / math.ceil(len(ready) / MAX_ROWS))
        for i in range(0, len(ready), size):
            group = ready[i : i + size]
            rows = [(seq.next_row, len(seq.slot.cached), seq.slot) for seq in group]  # type: ignore[union-attr]
            status = self._decode(rows, logits=True)  # type: ignore[arg-type]
            if status != 0:
                self._fail(group, status)
                continue
            step = next(self._steps)
            for index, seq in enumerate(group):
                seq.next_row = None
                self._accept(seq, int(self._lib.llama_sampler_sample(seq.sampler, self._ctx, index)), step)

    def _accept(self, seq: Seq, token: int, step: int) -> None:
        """``Llama.create_completion``'s per-token rules: end of generation, stop sequences, token budget."""
        if seq.first_at is None:
            seq.first_at = time.perf_counter()
        if self._closing.is_set() or self._lib.llama_vocab_is_eog(self._vocab, token):
            self._finish(seq, "stop", step)
            return
        if (reason := seq.take(token, self._token_bytes(token), self._cells)) is not None:
            self._finish(seq, reason, step)

    def _token_bytes(self, token: int) -> bytes:
        lib, buf = self._lib, self._piece
        n = lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            self._piece = buf = ctypes.create_string_buffer(-n)
            n = lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def _finish(self, seq: Seq, reason: str, step: int, error: str | None = None) -> None:
        slot = seq.slot
        if slot is not None:
            slot.seq, slot.used_at = None, step
            if error is not None:
                self._clear(slot)
        if seq.sampler is not None:
            self._lib.llama_sampler_free(seq.sampler)
            seq.sampler = None
        seq.future.set_result(seq.decoded(reason, error))

    def _fail(self, seqs: list[Seq], status: int) -> None:
        if status == 1:  # no cells left: cannot happen while each budget fits its stream, but say what to do
            message = f"llama.cpp ran out of context space (--ctx-size {self.n_ctx}); raise --ctx-size"
        else:
            message = f"llama_decode returned {status}"
        log.warning("llama_cpp_sample_failed", error=message, sequences=len(seqs))
        step = next(self._steps)
        for seq in seqs:
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
