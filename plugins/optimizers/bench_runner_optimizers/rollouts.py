"""Model calls behind the harness: prompt rendering, the (candidate, example) cache, token accounting.

Every reply is cached by what determines it (model, settings, prompt, example),
in one fsynced JSONL file per run. A resumed run finds the replies of the killed
session there and asks the model nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from bench_runner import Backend, BadInput, GenerationRequest, Message, Prompt, RunConfig
from bench_runner_optimizers.datasets import Example, Scored

if TYPE_CHECKING:
    from bench_runner_optimizers.harness import Candidate

CACHE_SCHEMA_VERSION = 1


@attrs.frozen(kw_only=True)
class CallUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    duration_s: float = 0.0


@attrs.define
class Usage:
    """What one role (task model or proposer) consumed in an optimization."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    model_seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: CallUsage) -> None:
        self.calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost += usage.cost
        self.model_seconds += usage.duration_s


@attrs.frozen(kw_only=True)
class Evaluation:
    """One example scored under one candidate: what the optimizer gets back from ``evaluate``."""

    example_id: str
    score: float
    feedback: str
    output: str
    usage: CallUsage = attrs.field(factory=CallUsage)


@attrs.frozen(kw_only=True)
class Reply:
    text: str
    usage: CallUsage = attrs.field(factory=CallUsage)


class Dataset(Protocol):
    name: str
    instruction: str

    def score(self, example: Example, output: str) -> Scored: ...

    def close(self) -> None: ...


class Cache:
    """``cache.jsonl`` of a run: key -> reply record. Appends are fsynced; a torn last line is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_bytes().split(b"\n"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # the line a kill cut short; its call is simply made again
                if isinstance(record, dict) and "key" in record:
                    self._records[record["key"]] = record

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records.get(key)

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        line = json.dumps({"schema_version": CACHE_SCHEMA_VERSION, "key": key, **record}, ensure_ascii=False)
        with self._lock:
            self._records[key] = {"key": key, **record}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def __len__(self) -> int:
        return len(self._records)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


@attrs.define
class Model:
    """A started backend with its run config, shared by every task that names the same model spec."""

    spec: str
    config: RunConfig
    backend: Backend
    style: str
    facts: Mapping[str, Any]

    @property
    def key(self) -> str:
        from bench_runner_core.convert import unstructure

        return _digest(self.spec, unstructure(self.config.params), self.style)

    def prompt(self, messages: Sequence[Message]) -> Prompt:
        if self.style == "chat":
            return Prompt(style="chat", messages=tuple(messages))
        # A base model continues text: the turns one after another, the last one open.
        parts = [m.content + ("\n\n" if m.role != "user" else "\n") for m in messages]
        return Prompt.completion("".join(parts))

    def complete(self, request_id: str, messages: Sequence[Message], **overrides: Any) -> Reply:
        params = attrs.evolve(self.config.params, **overrides) if overrides else self.config.params
        completion = self.backend.generate(
            GenerationRequest(problem_id=request_id, sample_index=0, prompt=self.prompt(messages), params=params)
        )
        if completion.error:
            raise _CallFailed(completion.error)
        bound = sum(len(m.content.encode("utf-8")) for m in messages)
        return Reply(
            text=completion.text,
            usage=CallUsage(
                # Unreported token counts are bounded by bytes, so budgets stay on the safe side.
                prompt_tokens=completion.prompt_tokens if completion.prompt_tokens is not None else bound,
                completion_tokens=(
                    completion.completion_tokens
                    if completion.completion_tokens is not None
                    else len(completion.text.encode("utf-8"))
                ),
                cost=completion.cost or 0.0,
                duration_s=completion.duration_s,
            ),
        )


class _CallFailed(Exception):
    pass


class ModelCalls:
    """Cached calls to one model for one dataset: scored rollouts (task role) and free-form replies (proposer)."""

    def __init__(self, *, model: Model, dataset: Dataset, cache: Cache, max_concurrent: int = 1) -> None:
        self.model = model
        self.dataset = dataset
        self.cache = cache
        self.workers = max(1, min(max_concurrent, getattr(model.backend, "concurrency", 1)))

    def evaluate(
        self, candidate: Candidate, examples: Sequence[Example], demos: Sequence[Message]
    ) -> dict[str, Evaluation]:
        """Every example's evaluation under ``candidate``; only uncached ones reach the model."""
        unique = list({e.id: e for e in examples}.values())
        keys = {e.id: _digest("task", self.model.key, self.dataset.name, candidate.key, e.id) for e in unique}
        out: dict[str, Evaluation] = {}
        todo = []
        for example in unique:
            record = self.cache.get(keys[example.id])
            if record is None:
                todo.append(example)
            else:
                out[example.id] = _evaluation(example.id, record)

        def run(example: Example) -> Evaluation:
            messages = (Message(role="system", content=candidate.instruction), *demos, *example.messages)
            try:
                reply = self.model.complete(example.id, messages)
            except _CallFailed as exc:
                # Not cached: a failed call is asked again on resume.
                return Evaluation(example_id=example.id, score=0.0, feedback=f"generation failed: {exc}", output="")
            scored = self.dataset.score(example, reply.text)
            record = {
                "role": "task",
                "example": example.id,
                "candidate": candidate.key,
                "output": reply.text,
                "score": scored.score,
                "feedback": scored.feedback,
                "usage": attrs.asdict(reply.usage),
            }
            self.cache.put(keys[example.id], record)
            return _evaluation(example.id, record)

        if len(todo) <= 1 or self.workers == 1:
            results = [run(e) for e in todo]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                results = list(pool.map(run, todo))
        out.update({r.example_id: r for r in results})
        return out

    def generate(
        self, messages: Sequence[Message], *, max_tokens: int, occurrence: int, temperature: float, seed: int
    ) -> Reply:
        """A free-form reply (the proposer's), cached by prompt and by how often this prompt was asked."""
        asked = [attrs.asdict(m) for m in messages]
        key = _digest("proposer", self.model.key, asked, max_tokens, occurrence, temperature, seed)
        record = self.cache.get(key)
        if record is None:
            try:
                reply = self.model.complete(
                    f"proposer/{key[:8]}", messages, max_tokens=max_tokens, temperature=temperature, seed=seed
                )
            except _CallFailed as exc:
                raise BadInput(
                    f"the proposer model failed: {exc}", "check the proposer model and retry the run"
                ) from None
            record = {"role": "proposer", "output": reply.text, "usage": attrs.asdict(reply.usage)}
            self.cache.put(key, record)
        return Reply(text=record["output"], usage=CallUsage(**record["usage"]))


def _evaluation(example_id: str, record: Mapping[str, Any]) -> Evaluation:
    return Evaluation(
        example_id=example_id,
        score=float(record["score"]),
        feedback=record["feedback"],
        output=record["output"],
        usage=CallUsage(**record["usage"]),
    )
