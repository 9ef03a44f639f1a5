"""The attempts of one sample, shared by every engine: generate, parse, grade, and in the
iterative modes tell the model what failed and ask again, until a pass or ``--max-iterations``.

An engine decides only *when* each step runs. The local engine overlaps steps of
many samples; :func:`run_sample` runs one sample's steps in order, for engines
that hand out whole samples (a worker on another machine).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable

import attrs
import structlog

from bench_runner_core.api import Benchmark, GivesFeedback, RunJob
from bench_runner_core.records import (
    Attempt,
    Completion,
    GenerationRequest,
    Message,
    Problem,
    Prompt,
    RunConfig,
    SampleResult,
    Verdict,
)

log = structlog.get_logger()

#: what follows the feedback in a chat repair turn
REPAIR_INSTRUCTION = "Fix the program. Reply with the complete corrected program in a single ```python code block."


@attrs.frozen(kw_only=True)
class SampleState:
    """A sample between attempts."""

    problem: Problem
    index: int
    attempts: tuple[Attempt, ...] = ()

    def result(self, config: RunConfig) -> SampleResult:
        return SampleResult(
            problem_id=self.problem.id,
            sample_index=self.index,
            attempts=self.attempts,
            attributes=self.problem.attributes,
            complete=finished(config, self.attempts),
        )


def max_attempts(config: RunConfig) -> int:
    return 1 if config.mode == "zero-shot" else config.max_iterations


def finished(config: RunConfig, attempts: tuple[Attempt, ...]) -> bool:
    """No attempt follows: the last one passed, generation failed, or the attempts are used up."""
    if not attempts:
        return False
    last = attempts[-1]
    return last.verdict.passed or last.completion.error is not None or len(attempts) >= max_attempts(config)


def request(config: RunConfig, state: SampleState, base: Prompt) -> GenerationRequest:
    """The next call to the backend: the benchmark's prompt, or a repair prompt after a failed attempt."""
    seed = config.params.seed
    # distinct, reproducible seeds per sample: sample i of a seeded run always gets seed + i
    params = config.params if seed is None else attrs.evolve(config.params, seed=seed + state.index)
    prompt = repair_prompt(base, state.attempts) if state.attempts else base
    return GenerationRequest(problem_id=state.problem.id, sample_index=state.index, prompt=prompt, params=params)


def repair_prompt(base: Prompt, attempts: tuple[Attempt, ...]) -> Prompt:
    """Chat: the conversation so far plus the feedback. Completion: the prompt, the failed program
    and its feedback as comments, then the prompt again (so the benchmark's parser reads the answer as usual)."""
    if base.style == "chat":
        turns = list(base.messages)
        for attempt in attempts:
            turns.append(Message(role="assistant", content=attempt.completion.text))
            turns.append(Message(role="user", content=f"{attempt.feedback}\n\n{REPAIR_INSTRUCTION}"))
        return attrs.evolve(base, messages=tuple(turns))
    last = attempts[-1]
    note = "\n".join(f"# {line}".rstrip() for line in last.feedback.splitlines())
    text = f"{base.text}{last.completion.text}\n\n# The code above is wrong.\n{note}\n# A corrected version:\n\n"
    return attrs.evolve(base, text=text + base.text)


def attempt(job: RunJob, state: SampleState, completion: Completion) -> SampleState:
    """Parse and grade one completion; if another attempt follows, write the feedback it gets."""
    problem, config = state.problem, job.run.config
    program, verdict = _grade(job, problem, state.index, completion)
    made = Attempt(completion=completion, program=program, verdict=verdict)
    attempts = (*state.attempts, made)
    if not finished(config, attempts):
        attempts = (*state.attempts, attrs.evolve(made, feedback=feedback(job.benchmark, problem, program, verdict)))
    return attrs.evolve(state, attempts=attempts)


def run_sample(
    job: RunJob,
    state: SampleState,
    prompt: Prompt,
    generate: Callable[[GenerationRequest], Completion] | None = None,
    attempted: Callable[[SampleResult], None] | None = None,
) -> SampleResult:
    """Every remaining attempt of one sample, in order; ``attempted`` gets the sample after each failed one."""
    config = job.run.config
    generate = generate or job.backend.generate
    while not finished(config, state.attempts):
        state = attempt(job, state, generate(request(config, state, prompt)))
        if attempted is not None and not finished(config, state.attempts):
            attempted(state.result(config))
    return state.result(config)


def feedback(benchmark: Benchmark, problem: Problem, program: str, verdict: Verdict) -> str:
    """The benchmark's feedback (``GivesFeedback``), else the verdict's status and detail."""
    if isinstance(benchmark, GivesFeedback):
        try:
            text = benchmark.feedback(problem, program, verdict)
        except Exception as exc:  # a benchmark bug costs the model its detailed feedback, not the run
            log.error("feedback_failed", problem=problem.id, error=repr(exc))
        else:
            if text:
                return program_frames(text, program)
    return generic_feedback(verdict)


def generic_feedback(verdict: Verdict) -> str:
    words = {"failed": "gave a wrong answer", "timeout": "ran out of time", "resource_limit": "hit a resource limit"}
    said = f"The program {words.get(verdict.status, 'failed with an error')}."
    return f"{said}\n{verdict.detail}" if verdict.detail else said


# A traceback entry: its "File" line and the source and caret lines under it.
_FRAME = re.compile(
    r'^(?P<indent>[ \t]*)File "(?P<file>[^"]*)", line (?P<line>\d+).*\n?(?:(?P=indent)[ \t]+\S.*\n?)*', re.M
)


def program_frames(text: str, program: str = "") -> str:
    """``text`` with every traceback frame of a real file removed: the harness's, the sandbox's and the
    standard library's. The program's own frames (``<program>``) and the tests' stay, with the program's
    source line under each of its frames when the traceback could not show it."""
    lines = program.splitlines()

    def keep(frame: re.Match[str]) -> str:
        entry = frame.group(0)
        if not frame.group("file").startswith("<"):
            return ""
        number = int(frame.group("line"))
        if frame.group("file") == "<program>" and entry.count("\n") <= 1 and 0 < number <= len(lines):
            head = entry.rstrip("\n")
            return f"{head}\n{frame.group('indent')}  {lines[number - 1].strip()}\n"
        return entry

    return _FRAME.sub(keep, text)


def _grade(job: RunJob, problem: Problem, index: int, completion: Completion) -> tuple[str, Verdict]:
    if completion.error:
        return "", Verdict(status="error", detail=f"generation failed: {completion.error}")
    program = ""
    try:
        program = job.benchmark.parse(problem, completion, job.style)
        verdict = job.benchmark.grade(problem, program, job.sandbox)
    except Exception as exc:  # a benchmark bug must not lose the run; it is recorded against the sample
        tail = "".join(traceback.format_exception(exc)[-3:]).strip()
        log.error("grading_failed", problem=problem.id, sample=index, error=repr(exc))
        return program, Verdict(status="error", detail=f"grader crashed: {tail}")
    return program, attrs.evolve(verdict, detail=program_frames(verdict.detail, program)) if verdict.detail else verdict
