"""Reading a prompt out of a proposer's reply, and showing examples and scores to it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench_runner_optimizers.datasets import Example
from bench_runner_optimizers.rollouts import Evaluation

_TAGGED = re.compile(r"<prompt>(.*?)(?:</prompt>|$)", re.S | re.I)
#: longest instruction kept from a proposer reply (a rambling model must not blow up every later prompt)
MAX_PROMPT_CHARS = 2000


def extract_prompt(reply: str, fallback: str) -> str:
    """The text inside ``<prompt>...</prompt>``, else the whole reply; ``fallback`` when that is empty."""
    reply = re.sub(r"<think>.*?</think>", "", reply, flags=re.S)
    found = _TAGGED.findall(reply)
    text = (found[-1] if found else reply).strip().strip("`").strip()
    return text[:MAX_PROMPT_CHARS] if text else fallback


def question_text(example: Example, limit: int = 600) -> str:
    text = "\n".join(m.content for m in example.messages if m.role == "user")
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]


def show_failures(examples: Sequence[Example], evaluations: Sequence[Evaluation], limit: int = 400) -> str:
    """Failed examples as the proposer reads them: the question, the model's reply and the grader's feedback."""
    blocks = []
    for example, evaluation in zip(examples, evaluations, strict=True):
        reply = evaluation.output.strip()
        reply = reply if len(reply) <= limit else reply[:limit] + " [...]"
        blocks.append(
            f"### Example {example.id}\nInput:\n{question_text(example)}\n"
            f"Model reply:\n{reply or '(empty)'}\nFeedback: {evaluation.feedback}"
        )
    return "\n\n".join(blocks)


TAG_RULE = "Write only the new prompt, between <prompt> and </prompt>."
