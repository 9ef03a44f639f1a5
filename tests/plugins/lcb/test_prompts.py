from __future__ import annotations

from pathlib import Path

import pytest

from bench_runner import Completion, Problem
from bench_runner_lcb import data, prompts
from bench_runner_lcb.benchmark import LiveCodeBench


@pytest.fixture(scope="module")
def problems(shared_data: Path) -> dict[str, Problem]:
    lite = shared_data / "lcb" / "code_generation_lite"
    return {p.id: p for p in data.load(data.Selection(problems_file=str(lite), release="release_v1"))[0]}


def test_chat_prompt_for_stdin_problem(problems: dict[str, Problem]) -> None:
    prompt = prompts.chat_prompt(problems["1873_A"])
    system, user = prompt.messages
    assert (system.role, user.role) == ("system", "user")
    assert system.content == prompts.SYSTEM
    assert user.content.startswith("### Question:\nThere are three cards")
    assert f"### Format: {prompts.WITHOUT_STARTER}" in user.content and "standard input" in user.content
    assert "```python\n# YOUR CODE HERE\n```" in user.content
    assert user.content.endswith(f"{prompts.ANSWER}\n\n")
    assert prompt.stop == ()


def test_chat_prompt_for_functional_problem_shows_starter_code(problems: dict[str, Problem]) -> None:
    problem = next(p for p in problems.values() if p.data["func_name"])
    user = prompts.chat_prompt(problem).messages[1].content
    assert f"### Format: {prompts.WITH_STARTER}" in user
    assert f"```python\n{problem.data['starter_code']}\n```" in user
    assert "stdin" not in user.split("### Format:")[1]


def test_completion_prompt_ends_in_an_open_fence_and_stops_at_the_close(problems: dict[str, Problem]) -> None:
    functional = next(p for p in problems.values() if p.data["func_name"])
    for problem in (problems["1873_A"], functional):
        prompt = prompts.completion_prompt(problem)
        assert prompt.style == "completion"
        assert prompt.text.endswith("### Answer\n\n```python\n")
        assert prompt.stop == ("```",)
        assert problem.data["question_content"] in prompt.text
    assert "### Starter Code" in prompts.completion_prompt(functional).text
    assert "### Starter Code" not in prompts.completion_prompt(problems["1873_A"]).text


def test_parse_takes_the_last_python_block_of_a_chat_reply(problems: dict[str, Problem]) -> None:
    bench = LiveCodeBench(data.Selection())
    reply = "<think>try ```python\nwrong()\n```</think>Plan.\n```python\nprint(1)\n```\nand\n```python\nprint(2)\n```\n"
    assert bench.parse(problems["1873_A"], Completion(text=reply), "chat") == "print(2)\n"


def test_parse_of_a_continuation_keeps_hash_comments_and_stops_at_the_fence(problems: dict[str, Problem]) -> None:
    bench = LiveCodeBench(data.Selection())
    text = "### read\nn = int(input())\n### answer\nprint(n)\n```\n\n### Question\nmore"
    program = bench.parse(problems["1873_A"], Completion(text=text), "completion")
    assert program == "### read\nn = int(input())\n### answer\nprint(n)\n"
    assert prompts.program_from_continuation("print(1)") == "print(1)"
