"""Feedback for a failed program, shaped like LiveCodeBench's self-repair feedback, from public tests only.

As in lcb_runner's self-repair scenario the model is told the error kind and,
for the failing test, its input, expected and produced output, each cut to 300
characters (the wording is ours). Grading runs the
public tests first and stops at the first failure, so a failure on a public
test carries what the model may see; a failure on a hidden test is told by its
kind alone.
"""

from __future__ import annotations

import ast
import re

from bench_runner import Problem, Verdict

_CUT = 300
_TEST = re.compile(r"\b(?:test|case) (\d+):")
_GOT = re.compile(r"expected (?P<expected>'.*'|\".*\"), got (?P<got>'.*'|\".*\")\s*$", re.S)
_RETURNED = re.compile(r"returned (?P<got>.*), expected .*$", re.S)
_WRONG = "Your program is wrong: it gave a wrong answer."


def truncate(text: str, length: int = _CUT) -> str:
    """lcb_runner's cut: the head and the tail of a long value."""
    if len(text) <= length:
        return text
    return text[: length // 2] + "...(truncated) ..." + text[-length // 2 :]


def feedback(problem: Problem, verdict: Verdict) -> str:
    detail = verdict.detail
    found = _TEST.search(detail)
    index = int(found.group(1)) if found else None
    public = index is not None and index < problem.data.get("public_tests", 0)
    if re.search(r"\b(SyntaxError|IndentationError|TabError)\b", detail):
        return f"Your program does not compile:\n{_error(detail)}"
    if not public or index is None:
        kinds = {"failed": "gave a wrong answer", "timeout": "ran out of time"}
        return f"Your program is wrong: it {kinds.get(verdict.status, 'raised an error')} on a hidden test."
    given, expected = (truncate(text) for text in problem.data["tests"][index])
    if verdict.status == "failed":
        return f"{_WRONG}\nInput: {given}\nYour output: {truncate(_produced(detail))}\nExpected: {expected}"
    test = f"Input: {given}\nExpected: {expected}"
    if verdict.status == "timeout":
        return f"Your program is wrong: it ran out of time.\n{_error(detail)}\n{test}"
    return f"Your program is wrong: it raised an error.\n{test}\n{_error(detail)}"


def _produced(detail: str) -> str:
    stdio = _GOT.search(detail)
    if stdio:
        try:
            return str(ast.literal_eval(stdio.group("got")))
        except (ValueError, SyntaxError):
            return stdio.group("got")
    functional = _RETURNED.search(detail)
    return functional.group("got") if functional else ""


def _error(detail: str) -> str:
    text = re.sub(r" \(checker line \d+\)$", "", detail.strip())
    return _TEST.sub("", text, count=1).strip()
