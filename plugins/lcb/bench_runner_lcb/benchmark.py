"""The LiveCodeBench benchmark object the kernel drives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from bench_runner import BadInput, Completion, Problem, Prompt, RunConfig, SampleResult, SamplesFile, Sandbox, Verdict
from bench_runner_lcb import data, feedback, grading, prompts, samples
from bench_runner_parsers.code import extract_code

log = structlog.get_logger()


class LiveCodeBench:
    """LiveCodeBench code generation: problems from the official files, graded as lcb_runner grades."""

    def __init__(self, selection: data.Selection, test_timeout_s: float = grading.DEFAULT_TEST_TIMEOUT_S) -> None:
        if test_timeout_s <= 0:
            raise BadInput(f"--lcb-timeout must be positive, got {test_timeout_s}", "e.g. --lcb-timeout 6")
        for value, allowed, flag in (
            (selection.platforms, data.PLATFORMS, "--platform"),
            (selection.difficulties, data.DIFFICULTIES, "--difficulty"),
        ):
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise BadInput(f"unknown {flag} {', '.join(unknown)}", f"use {', '.join(allowed)}")
        data.parse_date(selection.start_date, "--start-date")
        data.parse_date(selection.end_date, "--end-date")
        self.selection = selection
        self.test_timeout_s = test_timeout_s
        self._facts: dict[str, Any] = {}

    @classmethod
    def from_config(cls, config: RunConfig) -> LiveCodeBench:
        options = config.options
        selection = data.Selection(
            problems_file=options.get("problems_file"),
            release=options.get("release_version"),
            start_date=options.get("start_date"),
            end_date=options.get("end_date"),
            platforms=data.as_tuple(options.get("platform")),
            difficulties=data.as_tuple(options.get("difficulty")),
        )
        timeout = options.get("lcb_timeout")
        return cls(selection, grading.DEFAULT_TEST_TIMEOUT_S if timeout is None else float(timeout))

    def load_problems(self) -> Sequence[Problem]:
        problems, self._facts = data.load(self.selection)
        log.info("lcb_problems_loaded", **{k: v for k, v in self._facts.items() if k not in ("files", "data")})
        public_only = self._facts["problems"] - self._facts["with_private_tests"]
        if public_only:
            # the leaderboard grades on private tests too: a program passing the few public ones may fail those
            self._facts["public_tests_only"] = {
                "problems": public_only,
                "warning": f"{public_only} of {self._facts['problems']} problems have public tests only: "
                "their scores are not comparable with the LiveCodeBench leaderboard's",
            }
            log.warning(
                "lcb_public_tests_only",
                problems=public_only,
                of=self._facts["problems"],
                fix="use the release files with private_test_cases for leaderboard-comparable scores",
            )
        return problems

    def prompt(self, problem: Problem, style: str) -> Prompt:
        return prompts.chat_prompt(problem) if style == "chat" else prompts.completion_prompt(problem)

    def parse(self, problem: Problem, completion: Completion, style: str) -> str:
        if style == "chat":
            return extract_code(completion.text)
        return prompts.program_from_continuation(completion.text)

    def grade(self, problem: Problem, program: str, sandbox: Sandbox) -> Verdict:
        return grading.grade(problem, program, sandbox, self.test_timeout_s)

    def feedback(self, problem: Problem, program: str, verdict: Verdict) -> str:
        """lcb_runner's self-repair message for a failed program, from public tests only."""
        return feedback.feedback(problem, verdict)

    def read_samples(self, path: str) -> SamplesFile:
        return samples.read_samples(path)

    def metadata(self) -> Mapping[str, Any]:
        timing = {
            "test_timeout_s": self.test_timeout_s,
            "program_cap_s": f"min({self.test_timeout_s:g} * (tests + 1), {grading.MAX_PROGRAM_S:g})",
        }
        return {**self._facts, **timing}

    def export(self, results: Sequence[SampleResult], problems: Sequence[Problem], path: str) -> None:
        samples.export(results, problems, path)
