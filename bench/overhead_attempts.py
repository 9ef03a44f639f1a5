"""The kernel's cost per attempt in the iterative modes, with generation and grading taken out.

    .venv/bin/python bench/overhead_attempts.py [--samples 200] [--attempts 5] [--rounds 3]

A backend that answers at once and a benchmark that grades in memory (the last
attempt of each sample passes) leave only what the kernel adds: the local
engine's threads and queues, building repair prompts and feedback, and the
fsynced checkpoint line of every failed attempt. The baseline is a plain loop
that makes the same calls. Prints microseconds per attempt for both, and the
kernel's extra time per attempt, without and with the checkpoint writes.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from bench_runner_core import attempts
from bench_runner_core.api import RunJob
from bench_runner_core.attempts import SampleState
from bench_runner_core.plugins.local_engine import LocalEngine
from bench_runner_core.records import Completion, Problem, Prompt, RunConfig, RunInfo, Verdict
from bench_runner_core.store import RunStore


class Instant:
    concurrency = 1

    def generate(self, request):  # type: ignore[no-untyped-def]
        turns = sum(m.role == "assistant" for m in request.prompt.messages)
        return Completion(text=str(turns), prompt_tokens=10, completion_tokens=2)


class InMemory:
    def __init__(self, needed: int) -> None:
        self.needed = needed

    def prompt(self, problem: Problem, style: str) -> Prompt:
        return Prompt.chat(("user", f"solve {problem.id}"))

    def parse(self, problem, completion, style):  # type: ignore[no-untyped-def]
        return completion.text

    def grade(self, problem, program, sandbox):  # type: ignore[no-untyped-def]
        ok = int(program) >= self.needed - 1
        return Verdict(status="passed" if ok else "failed", detail="" if ok else f"wrong: {program}")


def job(config: RunConfig, problems: list[Problem], needed: int, store: RunStore | None) -> RunJob:
    info = RunInfo(
        run_id="bench_0123abcd_20260101_000000", config=config, start_time="now", total_samples=0, problems=()
    )
    write = (lambda s: store.append_sample(info.run_id, s)) if store else (lambda s: None)
    return RunJob(
        run=info,
        pending=[(p, 0) for p in problems],
        benchmark=InMemory(needed),  # type: ignore[arg-type]
        backend=Instant(),  # type: ignore[arg-type]
        sandbox=None,  # type: ignore[arg-type]
        style="chat",
        finished=write,
        should_stop=lambda: False,
        attempted=write,
    )


def plain(work: RunJob, needed: int) -> int:
    """The same calls with no engine: generate, parse, grade, repeat."""
    made = 0
    for problem, index in work.pending:
        state = SampleState(problem=problem, index=index)
        prompt = work.benchmark.prompt(problem, "chat")
        for _ in range(needed):
            completion = work.backend.generate(attempts.request(work.run.config, state, prompt))
            program = work.benchmark.parse(problem, completion, "chat")
            verdict = work.benchmark.grade(problem, program, None)  # type: ignore[arg-type]
            state = attrs_add(state, completion, program, verdict)
            made += 1
    return made


def attrs_add(state: SampleState, completion: Completion, program: str, verdict: Verdict) -> SampleState:
    from bench_runner_core.records import Attempt

    made = Attempt(completion=completion, program=program, verdict=verdict, feedback=verdict.detail)
    return SampleState(problem=state.problem, index=state.index, attempts=(*state.attempts, made))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = RunConfig(benchmark="b", backend="x", mode="iterative", max_iterations=args.attempts, workers=2)
    problems = [Problem(id=f"p{i}") for i in range(args.samples)]
    total = args.samples * args.attempts
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name in ("plain", "engine", "engine+checkpoint"):
            with tempfile.TemporaryDirectory() as tmp:
                store = None
                if name == "engine+checkpoint":
                    store = RunStore(tmp)
                    store.create("bench_0123abcd_20260101_000000", config, "now")
                work = job(config, problems, args.attempts, store)
                started = time.perf_counter()
                if name == "plain":
                    assert plain(work, args.attempts) == total
                else:
                    LocalEngine(config).execute(work)
                elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
    per = {name: seconds / total * 1e6 for name, seconds in best.items()}
    print(f"{args.samples} samples x {args.attempts} attempts, best of {args.rounds} rounds (us per attempt)")
    for name, micros in per.items():
        print(f"  {name:<18} {micros:8.1f}")
    print(
        f"  kernel overhead per attempt: {per['engine'] - per['plain']:.1f} us without the checkpoint, "
        f"{per['engine+checkpoint'] - per['plain']:.1f} us with its fsynced line"
    )


if __name__ == "__main__":
    main()
