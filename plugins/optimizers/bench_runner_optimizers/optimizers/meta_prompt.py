"""``meta_prompt``: an LLM rewrites the prompt from the scored history (OPRO, Yang et al. 2023)."""

from __future__ import annotations

from typing import Any

from bench_runner_optimizers.harness import Candidate, Harness
from bench_runner_optimizers.optimizers._text import TAG_RULE, extract_prompt, question_text


class MetaPrompt:
    """Each step shows the proposer the best instructions so far with their validation scores, sorted
    ascending (the best last, as in OPRO), and a few train examples, and asks for ``n_samples`` new ones."""

    def __init__(self, *, n_samples: int = 2, history_size: int = 8, n_examples: int = 3) -> None:
        self.n_samples = n_samples
        self.history_size = history_size
        self.n_examples = n_examples

    def optimize(self, harness: Harness) -> None:
        harness.trial(harness.baseline)
        n_samples = int(harness.params.get("n_samples", self.n_samples))
        examples = harness.rng.sample(list(harness.train), min(self.n_examples, len(harness.train)))
        shown = "\n\n".join(f"Input:\n{question_text(e)}\nCorrect answer: {e.answer}" for e in examples if e.answer)
        for _ in range(harness.budget.max_trials):
            ranked = sorted(harness.trials.items(), key=lambda kv: kv[1])[-self.history_size :]
            history = "\n\n".join(
                f"Prompt:\n{harness.candidates[key].instruction}\nScore: {round(100 * score)}" for key, score in ranked
            )
            ask = (
                f"You improve the system prompt of a language model for this task: {harness.task_description}\n\n"
                f"Here are earlier prompts with their scores (0-100, higher is better), worst first:\n\n{history}\n\n"
                + (f"Examples of the task:\n\n{shown}\n\n" if shown else "")
                + "Write a new prompt that differs from all the earlier ones and scores higher. "
                + TAG_RULE
            )
            for _ in range(n_samples):
                text = extract_prompt(harness.generate(ask), harness.best.instruction)
                harness.trial(Candidate(instruction=text, demos=harness.best.demos))


def factory(**params: Any) -> MetaPrompt:
    return MetaPrompt(**params)
