"""``hierarchical_reflective``: failures in batches -> root causes -> one targeted fix each, kept only if better."""

from __future__ import annotations

from typing import Any

from bench_runner_optimizers.harness import Candidate, Harness
from bench_runner_optimizers.optimizers._text import TAG_RULE, extract_prompt, show_failures


class HierarchicalReflective:
    """Each round runs the current prompt on a train minibatch. Its failures are analysed in batches of
    ``batch_size`` (level one), the batch analyses are merged into at most ``max_causes`` root causes
    (level two), and each cause gets one rewrite of the prompt. A rewrite replaces the current prompt only
    if its validation score is higher."""

    def __init__(self, *, minibatch: int = 8, batch_size: int = 4, max_causes: int = 2, rounds: int = 4) -> None:
        self.minibatch = minibatch
        self.batch_size = batch_size
        self.max_causes = max_causes
        self.rounds = rounds

    def optimize(self, harness: Harness) -> None:
        current = harness.baseline
        best = harness.trial(current)
        train = list(harness.train)
        for _ in range(int(harness.params.get("rounds", self.rounds))):
            batch = harness.rng.sample(train, min(self.minibatch, len(train)))
            evaluations = harness.evaluate(current, batch)
            failed = [(e, r) for e, r in zip(batch, evaluations, strict=True) if r.score < 1.0]
            if not failed:
                continue
            analyses = []
            for start in range(0, len(failed), self.batch_size):
                group = failed[start : start + self.batch_size]
                analyses.append(
                    harness.generate(
                        f"Task: {harness.task_description}\n\nA model was given this system prompt:\n\n"
                        f"{current.instruction}\n\nIt failed these examples:\n\n"
                        f"{show_failures([e for e, _ in group], [r for _, r in group])}\n\n"
                        "Why did it fail? Name the underlying causes in the prompt or the model's approach, "
                        "one per line, most important first.",
                        max_tokens=256,
                    )
                )
            causes = self._root_causes(harness, analyses)
            for cause in causes:
                reply = harness.generate(
                    f"Task: {harness.task_description}\n\nCurrent system prompt:\n\n{current.instruction}\n\n"
                    f"It fails because: {cause}\n\nRewrite the prompt with one targeted change that fixes "
                    f"this cause, keeping everything else. {TAG_RULE}"
                )
                candidate = Candidate(instruction=extract_prompt(reply, current.instruction), demos=current.demos)
                score = harness.trial(candidate)
                if score > best:
                    current, best = candidate, score

    def _root_causes(self, harness: Harness, analyses: list[str]) -> list[str]:
        if len(analyses) == 1:
            merged = analyses[0]
        else:
            joined = "\n\n".join(f"Analysis {i + 1}:\n{a}" for i, a in enumerate(analyses))
            merged = harness.generate(
                f"These analyses explain failures of the same prompt:\n\n{joined}\n\n"
                f"Merge them into at most {self.max_causes} distinct root causes, one per line, most important "
                "first.",
                max_tokens=256,
            )
        lines = [line.strip(" -*0123456789.)\t") for line in merged.splitlines()]
        causes = list(dict.fromkeys(line for line in lines if len(line) > 8))
        return causes[: self.max_causes] or [merged.strip()[:300] or "the answers are wrong"]


def factory(**params: Any) -> HierarchicalReflective:
    return HierarchicalReflective(**params)
