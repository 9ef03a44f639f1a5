"""What an optimizer sees, and the budget it runs under.

An optimizer gets a :class:`Harness`: the train and validation examples,
``evaluate(candidate, examples)`` (scores and feedback, one task-model call per
new (candidate, example) pair), ``trial(candidate)`` (a full validation score,
which decides the best prompt) and ``generate(prompt)`` (the proposer model).
The test split is not in it. The harness, not the optimizer, enforces the
budget: a call that would go past ``max_trials``, ``max_rollouts`` or
``max_proposer_tokens`` raises :class:`BudgetExhausted` before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from bench_runner import Message
from bench_runner_optimizers.datasets import Example
from bench_runner_optimizers.rollouts import Evaluation, ModelCalls, Usage

STOP_REASONS = ("completed", "max_trials", "max_rollouts", "max_proposer_tokens")


@attrs.frozen(kw_only=True)
class Candidate:
    """A prompt: the system instruction, and worked examples (train example id, reply) shown before the question."""

    instruction: str
    demos: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=lambda d: tuple(tuple(x) for x in d))

    @property
    def key(self) -> str:
        text = json.dumps({"instruction": self.instruction, "demos": self.demos}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Budget:
    """Limits per optimization. Trials are full validation scorings; rollouts are task-model calls."""

    max_trials: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    max_rollouts: int = attrs.field(default=400, validator=attrs.validators.ge(1))
    max_proposer_tokens: int = attrs.field(default=20000, validator=attrs.validators.ge(0))


class BudgetExhausted(Exception):
    """Raised inside an optimizer's step when it asks past a limit; ``reason`` names the limit."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


#: the proposer's sampling temperature unless ``proposer_temperature`` says otherwise (OPRO samples at 1.0)
PROPOSER_TEMPERATURE = 0.7
#: a proposer call is refused when fewer tokens than this would be left for its reply
MIN_REPLY_TOKENS = 32


class Harness:
    """The only door an optimizer has to models and data."""

    def __init__(
        self,
        *,
        rollouts: ModelCalls,
        proposer: ModelCalls,
        train: Sequence[Example],
        validation: Sequence[Example],
        baseline: Candidate,
        budget: Budget,
        seed: int,
        task_description: str,
        params: Mapping[str, Any],
    ) -> None:
        self.train = tuple(train)
        self.validation = tuple(validation)
        self.baseline = baseline
        self.budget = budget
        self.seed = seed
        self.rng = random.Random(seed)
        self.task_description = task_description
        #: per-optimization overrides from the manifest (n_samples, population_size, ...)
        self.params = dict(params)
        self._rollouts = rollouts
        self._proposer = proposer
        self._allowed = {e.id: e for e in (*self.train, *self.validation)}
        self._seen: set[tuple[str, str]] = set()
        self._proposer_calls: dict[str, int] = {}
        self.trials: dict[str, float] = {}
        self.candidates: dict[str, Candidate] = {}
        self.history: list[dict[str, Any]] = []
        self.best: Candidate = baseline
        self.best_score: float | None = None
        self.usage = {"task": Usage(), "proposer": Usage()}
        #: the first limit the optimizer hit, even if it caught the exception and went on
        self.exhausted: BudgetExhausted | None = None

    # --- the optimizer's API -------------------------------------------------

    def example(self, example_id: str) -> Example:
        """A train or validation example by id."""
        return self._allowed[example_id]

    def evaluate(self, candidate: Candidate, examples: Sequence[Example]) -> list[Evaluation]:
        """Score ``candidate`` on train/validation ``examples``; each new (candidate, example) pair is a rollout."""
        for example in examples:
            if self._allowed.get(example.id) != example:
                raise ValueError(f"{example.id} is not a train or validation example")
        for example_id, _ in candidate.demos:
            if example_id not in self._allowed:
                raise ValueError(f"demo {example_id} is not a train or validation example")
        new = [e for e in dict.fromkeys(examples) if (candidate.key, e.id) not in self._seen]
        rollouts = self.usage["task"].calls
        if rollouts + len(new) > self.budget.max_rollouts:
            raise self._stop(
                "max_rollouts",
                f"{len(new)} more task-model calls would pass {self.budget.max_rollouts} (used {rollouts})",
            )
        results = self._rollouts.evaluate(candidate, examples, self.demo_messages(candidate))
        for example in new:
            self._seen.add((candidate.key, example.id))
            self.usage["task"].add(results[example.id].usage)
        return [results[e.id] for e in examples]

    def trial(self, candidate: Candidate) -> float:
        """The candidate's mean score on the whole validation split: one trial. The best trial is the result."""
        if candidate.key in self.trials:
            return self.trials[candidate.key]
        if len(self.trials) + 1 > self.budget.max_trials:
            raise self._stop("max_trials", f"all {self.budget.max_trials} trials used")
        scores = [e.score for e in self.evaluate(candidate, self.validation)]
        score = sum(scores) / len(scores) if scores else 0.0
        self.trials[candidate.key] = score
        self.candidates[candidate.key] = candidate
        if self.best_score is None or score > self.best_score:
            self.best, self.best_score = candidate, score
        self.history.append(
            {
                "trial": len(self.trials),
                "rollouts": self.usage["task"].calls,
                "proposer_tokens": self.usage["proposer"].tokens,
                "candidate": candidate.key,
                "score": score,
                "best": self.best_score,
            }
        )
        return score

    def generate(self, prompt: str, *, system: str | None = None, max_tokens: int = 512) -> str:
        """One reply of the proposer model; its prompt and reply tokens count against ``max_proposer_tokens``."""
        # A slow local proposer rambles to its limit; the manifest may cap every reply.
        max_tokens = min(max_tokens, int(self.params.get("proposer_max_tokens", max_tokens)))
        messages = ((Message(role="system", content=system),) if system else ()) + (
            Message(role="user", content=prompt),
        )
        used = self.usage["proposer"].tokens
        room = self.budget.max_proposer_tokens - used - _token_bound(messages)
        if room < MIN_REPLY_TOKENS:
            raise self._stop(
                "max_proposer_tokens",
                f"a proposer call needs up to {_token_bound(messages) + MIN_REPLY_TOKENS} tokens; "
                f"{self.budget.max_proposer_tokens - used} of {self.budget.max_proposer_tokens} left",
            )
        # The n-th identical request is its own cache entry, so a resumed optimizer replays the same replies.
        signature = hashlib.sha256(json.dumps([m.content for m in messages]).encode()).hexdigest()
        nth = self._proposer_calls.get(signature, 0)
        self._proposer_calls[signature] = nth + 1
        # Sampled, so that asking the same prompt twice can give two proposals; seeded, so runs repeat.
        reply = self._proposer.generate(
            messages,
            max_tokens=min(max_tokens, room),
            occurrence=nth,
            temperature=float(self.params.get("proposer_temperature", PROPOSER_TEMPERATURE)),
            seed=self.seed * 1000 + nth,
        )
        self.usage["proposer"].add(reply.usage)
        return reply.text

    # --- helpers -------------------------------------------------------------

    def _stop(self, reason: str, detail: str) -> BudgetExhausted:
        exc = BudgetExhausted(reason, detail)
        if self.exhausted is None:
            self.exhausted = exc
        return exc

    def demo_messages(self, candidate: Candidate) -> tuple[Message, ...]:
        out: list[Message] = []
        for example_id, reply in candidate.demos:
            out.extend(self._allowed[example_id].messages)
            out.append(Message(role="assistant", content=reply))
        return tuple(out)

    @property
    def rollouts_used(self) -> int:
        return self.usage["task"].calls


def _token_bound(messages: Sequence[Message]) -> int:
    # A token is at least one byte of text; a chat template adds a few tokens per message.
    return sum(len(m.content.encode("utf-8")) + 16 for m in messages) + 16
