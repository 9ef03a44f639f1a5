"""lcb_runner's file formats: custom-evaluator input in, ``*_eval_all.json`` out."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bench_runner import BadInput, Problem, SampleResult, SamplesFile, atomic_writer

# lcb_runner's per-sample error codes in eval_all metadata.
_ERROR_CODES = {"failed": (-2, "Wrong Answer"), "timeout": (-3, "Time Limit Exceeded")}
_RUNTIME_ERROR = (-4, "Runtime Error")


def read_samples(path: str) -> SamplesFile:
    """A JSON list of ``{"question_id", "code_list"}`` (extra keys, as in eval_all files, are ignored).

    lcb_runner's code generation and self-repair outputs (``Scenario.selfrepair_*.json`` and its
    ``_eval_all.json``) both have this shape.

    The code is graded as it stands, like lcb_runner's custom evaluator does;
    the style ``completion`` tells the parser there is no chat reply to dig in.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            rows = json.load(handle)
    except OSError as exc:
        raise BadInput(f"cannot read samples file {path}: {exc.strerror}", "") from None
    except ValueError as exc:
        raise BadInput(f"{path} is not JSON ({exc})", 'expected a JSON list of {"question_id", "code_list"}') from None
    fix = 'expected a JSON list of {"question_id": ..., "code_list": [code, ...]} (lcb_runner custom evaluator input)'
    if not isinstance(rows, list):
        raise BadInput(f"{path} holds a {type(rows).__name__}, not a list", fix)
    completions: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        code_list = row.get("code_list") if isinstance(row, dict) else None
        if isinstance(code_list, list):
            # lcb_runner's self-repair runs keep a repaired sample as the one-element list its model call returned
            code_list = [c[0] if isinstance(c, list) and len(c) == 1 else c for c in code_list]
        if (
            not isinstance(row, dict)
            or "question_id" not in row
            or not isinstance(code_list, list)
            or not all(isinstance(c, str) for c in code_list)
        ):
            raise BadInput(f"entry {index} of {path} is not a {{question_id, code_list}} object", fix)
        qid = str(row["question_id"])
        if qid in completions:
            raise BadInput(f"question {qid} appears twice in {path}", "merge its code_list entries into one")
        completions[qid] = list(code_list)
    return SamplesFile(path=path, style="completion", completions=completions)


def _metadata(sample: SampleResult) -> str:
    verdict = sample.verdict
    facts: dict[str, Any] = {"finish_reason": sample.final.completion.finish_reason}
    if verdict.passed:
        facts["execution time"] = verdict.duration_s
    else:
        code, message = _ERROR_CODES.get(verdict.status, _RUNTIME_ERROR)
        facts.update(error_code=code, error_message=message, error=verdict.detail)
    return json.dumps(facts)


def export(results: Sequence[SampleResult], problems: Sequence[Problem], path: str) -> None:
    """Write lcb_runner's ``*_eval_all.json`` shape: one object per problem, sorted by question_id."""
    by_problem: dict[str, list[SampleResult]] = defaultdict(list)
    for sample in results:
        by_problem[sample.problem_id].append(sample)
    out = []
    for problem in sorted(problems, key=lambda p: p.id):
        samples = sorted(by_problem.get(problem.id, []), key=lambda s: s.sample_index)
        if not samples:
            continue
        graded = [s.verdict.passed for s in samples]
        data = problem.data
        out.append(
            {
                "question_title": data["question_title"],
                "question_content": data["question_content"],
                "platform": problem.attributes.get("platform", ""),
                "question_id": problem.id,
                "contest_id": data["contest_id"],
                "contest_date": data["contest_date"],
                "starter_code": data["starter_code"],
                "difficulty": problem.attributes.get("difficulty", ""),
                "output_list": [s.final.completion.text for s in samples],
                "code_list": [s.final.program for s in samples],
                "graded_list": graded,
                "pass@1": graded.count(True) / len(graded),
                "metadata": [_metadata(s) for s in samples],
            }
        )
    with atomic_writer(path) as handle:
        json.dump(out, handle, indent=4)
