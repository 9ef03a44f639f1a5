"""The attempt loop every engine shares: when a sample goes on, what the model is told, how it is asked."""

from __future__ import annotations

from bench_runner_core import attempts
from bench_runner_core.api import RunJob
from bench_runner_core.attempts import SampleState
from bench_runner_core.records import (
    Completion,
    GenerationRequest,
    Problem,
    Prompt,
    RunConfig,
    RunInfo,
    SampleResult,
    Verdict,
)

HARNESS_TRACEBACK = """ValueError: bad
Traceback (most recent call last):
  File "/work/main/core/sandbox/server.py", line 90, in serve
    exec(code, module.__dict__)
  File "<program>", line 3, in <module>
    helper()
  File "<program>", line 2, in helper
    raise ValueError("bad")
    ^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
ValueError: bad"""


def test_harness_and_library_frames_are_dropped_the_programs_stay() -> None:
    shown = attempts.program_frames(HARNESS_TRACEBACK)
    assert "server.py" not in shown and "json/__init__" not in shown and "exec(code" not in shown
    assert 'File "<program>", line 3, in <module>\n    helper()' in shown
    assert '    raise ValueError("bad")\n    ^^^^' in shown
    assert shown.endswith("ValueError: bad")


class Halves:
    """A throwaway benchmark: the answer must be half the problem's number; no sandbox needed."""

    def prompt(self, problem: Problem, style: str) -> Prompt:
        return Prompt.chat(("user", f"half of {problem.data['n']}?"))

    def parse(self, problem: Problem, completion: Completion, style: str) -> str:
        return completion.text.strip()

    def grade(self, problem: Problem, program: str, sandbox: object) -> Verdict:
        ok = program == str(problem.data["n"] // 2)
        return Verdict(status="passed" if ok else "failed", detail="" if ok else f"got {program}")


def job(mode: str, max_iterations: int = 10) -> RunJob:
    config = RunConfig(benchmark="halves", backend="x", mode=mode, max_iterations=max_iterations)
    info = RunInfo(run_id="r", config=config, start_time="now", total_samples=1, problems=())
    return RunJob(
        run=info,
        pending=(),
        benchmark=Halves(),  # type: ignore[arg-type]
        backend=None,  # type: ignore[arg-type]
        sandbox=None,  # type: ignore[arg-type]
        style="chat",
        finished=lambda sample: None,
        should_stop=lambda: False,
    )


def answers(*texts: str):  # type: ignore[no-untyped-def]
    seen: list[GenerationRequest] = []

    def generate(request: GenerationRequest) -> Completion:
        seen.append(request)
        return Completion(text=texts[len(seen) - 1], cost=0.5)

    return generate, seen


def test_iterative_tells_the_model_and_stops_at_the_first_pass() -> None:
    problem = Problem(id="p", data={"n": 8})
    generate, seen = answers("3", "5", "4", "4")
    partial: list[SampleResult] = []
    sample = attempts.run_sample(
        job("iterative"),
        SampleState(problem=problem, index=0),
        Halves().prompt(problem, "chat"),
        generate,
        partial.append,
    )
    assert sample.complete and [a.verdict.status for a in sample.attempts] == ["failed", "failed", "passed"]
    assert [len(p.attempts) for p in partial] == [1, 2] and not any(p.complete for p in partial)
    # no Halves.feedback: the generic one from the verdict
    assert sample.attempts[0].feedback == "The program gave a wrong answer.\ngot 3"
    assert sample.attempts[-1].feedback == ""
    third = seen[2].prompt.messages
    assert [m.role for m in third] == ["user", "assistant", "user", "assistant", "user"]
    assert third[1].content == "3" and third[2].content.startswith("The program gave a wrong answer.\ngot 3\n\n")
    assert attempts.REPAIR_INSTRUCTION in third[4].content


def test_zero_shot_makes_one_attempt_and_max_iterations_caps_the_rest() -> None:
    problem = Problem(id="p", data={"n": 8})
    prompt = Halves().prompt(problem, "chat")
    generate, _ = answers("3", "3", "3")
    assert (
        len(attempts.run_sample(job("zero-shot"), SampleState(problem=problem, index=0), prompt, generate).attempts)
        == 1
    )
    generate, seen = answers("3", "3", "3")
    capped = attempts.run_sample(job("comparative", 2), SampleState(problem=problem, index=0), prompt, generate)
    assert len(seen) == 2 and capped.complete and not capped.verdict.passed


def test_a_failed_generation_ends_the_sample() -> None:
    problem = Problem(id="p", data={"n": 8})
    state = attempts.attempt(job("iterative"), SampleState(problem=problem, index=0), Completion(text="", error="down"))
    assert attempts.finished(job("iterative").run.config, state.attempts)
    assert state.attempts[0].verdict.status == "error"


def test_a_completion_style_repair_shows_the_failed_program_and_feedback_then_asks_again() -> None:
    base = Prompt.completion("def f():\n", stop=("\ndef",))
    state = attempts.attempt(
        job("iterative"), SampleState(problem=Problem(id="p", data={"n": 8}), index=0), Completion(text="    return 3")
    )
    repair = attempts.repair_prompt(base, state.attempts)
    assert repair.stop == base.stop
    assert repair.text.startswith("def f():\n    return 3\n\n# The code above is wrong.\n# The program gave a wrong")
    assert repair.text.endswith("# A corrected version:\n\ndef f():\n")
