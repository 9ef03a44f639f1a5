"""Prompts for chat models, and a completion variant for base models.

The chat prompt has the parts LiveCodeBench's chat prompt has (a system
message, then the question, the answer format with the starter code or an
stdin/stdout skeleton, and where the answer goes), in our own words. No stop
string is set for chat: a ``###`` stop would cut off answers whose code
contains a ``###`` comment.
"""

from __future__ import annotations

from bench_runner import Problem, Prompt

SYSTEM = (
    "You write Python. Each message is a programming problem; reply with a Python solution that is correct "
    "for every input the problem allows, since hidden tests will check it."
)
WITH_STARTER = "Complete this starter code, keeping its names, and give the whole solution in one Python code block:"
WITHOUT_STARTER = (
    "Write a complete program: it reads the input from standard input and prints the answer to standard "
    "output, for any valid input, not only the examples. Give it in one Python code block like this one:"
)
ANSWER = "### Answer (one Python code block, nothing else)"

FENCE = "```"

# One worked example per problem kind shows a base model the shape of an answer (our own examples).
_STDIN_EXAMPLE = (
    "You are given two integers A and B on one line, separated by a space. Print A + B.\n\n"
    "Sample Input 1\n\n3 5\n\nSample Output 1\n\n8",
    "",
    "a, b = map(int, input().split())\nprint(a + b)\n",
)
_FUNCTIONAL_EXAMPLE = (
    "You are given a 0-indexed integer array nums. Return the largest element of nums minus the smallest.\n\n"
    "Example 1:\n\nInput: nums = [3,1,4]\nOutput: 3",
    "class Solution:\n    def spread(self, nums: List[int]) -> int:\n        ",
    "class Solution:\n    def spread(self, nums: List[int]) -> int:\n        return max(nums) - min(nums)\n",
)


def chat_prompt(problem: Problem) -> Prompt:
    """A system message, then the question, the answer format and where the answer goes."""
    data = problem.data
    text = f"### Question:\n{data['question_content']}\n\n"
    if data["starter_code"]:
        text += f"### Format: {WITH_STARTER}\n```python\n{data['starter_code']}\n```\n\n"
    else:
        text += f"### Format: {WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    text += f"{ANSWER}\n\n"
    return Prompt.chat(("system", SYSTEM), ("user", text))


def _block(question: str, starter: str, answer: str | None) -> str:
    text = f"### Question\n{question}\n\n"
    if starter:
        text += f"### Starter Code\n```python\n{starter}\n```\n\n"
    text += "### Answer\n\n```python\n"
    if answer is not None:
        text += f"{answer}```\n\n"
    return text


def completion_prompt(problem: Problem) -> Prompt:
    """A one-shot prompt ending inside an open code fence; the model writes the program and closes it.

    The stop string is the closing fence, which program text essentially never
    contains, so a finished program is never cut short.
    """
    data = problem.data
    example = _FUNCTIONAL_EXAMPLE if data["starter_code"] else _STDIN_EXAMPLE
    text = _block(*example) + _block(data["question_content"], data["starter_code"], None)
    return Prompt.completion(text, stop=(FENCE,))


def program_from_continuation(text: str) -> str:
    """The program a base model wrote after the open fence: everything before a closing fence line."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.lstrip().startswith(FENCE):
            return "\n".join(lines[:index]) + "\n"
    return text
