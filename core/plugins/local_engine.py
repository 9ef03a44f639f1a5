"""The ``local`` engine: generation and grading overlap on one machine.

Generation threads (as many as the backend's ``concurrency``) never wait for
grading: each completion is handed to a grading pool sized to the sandbox and
the next request goes out at once. Finished samples return to the calling
thread, which alone talks to sinks, in the order they were generated.
"""

from __future__ import annotations

import os
import queue
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

import attrs
import structlog

from bench_runner_core.api import BadInput, RunJob
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import (
    Attempt,
    Completion,
    GenerationRequest,
    Problem,
    Prompt,
    RunConfig,
    SampleResult,
    Verdict,
)
from bench_runner_core.registry import EngineRegistrar

log = structlog.get_logger()
_DONE = object()


class LocalEngine:
    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def execute(self, job: RunJob) -> None:
        work: queue.Queue[tuple[Problem, int]] = queue.Queue()
        for item in job.pending:
            work.put(item)
        results: queue.Queue[object] = queue.Queue()
        prompts: dict[str, Prompt] = {}
        prompt_lock = threading.Lock()
        graders = ThreadPoolExecutor(max_workers=self.config.workers or os.cpu_count() or 2, thread_name_prefix="grade")
        fatal: list[BaseException] = []

        def prompt_for(problem: Problem) -> Prompt:
            with prompt_lock:
                if problem.id not in prompts:
                    prompts[problem.id] = job.benchmark.prompt(problem, job.style)
                return prompts[problem.id]

        def generate_loop() -> None:
            while not job.should_stop() and not fatal:
                try:
                    problem, index = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    completion = job.backend.generate(
                        GenerationRequest(
                            problem_id=problem.id,
                            sample_index=index,
                            prompt=prompt_for(problem),
                            params=_params(self.config, index),
                        )
                    )
                except BadInput as exc:  # the backend cannot go on (server gone, model unusable)
                    fatal.append(exc)
                    return
                except Exception as exc:
                    log.warning("generation_failed", problem=problem.id, sample=index, error=repr(exc))
                    completion = Completion(text="", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
                results.put(graders.submit(_grade, job, problem, index, completion))

        generators = [
            threading.Thread(target=generate_loop, name=f"generate-{i}", daemon=True)
            for i in range(max(1, job.backend.concurrency))
        ]
        for thread in generators:
            thread.start()

        def close_results() -> None:
            for thread in generators:
                thread.join()
            results.put(_DONE)

        threading.Thread(target=close_results, name="generate-join", daemon=True).start()
        try:
            while (item := results.get()) is not _DONE:
                job.finished(item.result())  # type: ignore[attr-defined]
        finally:
            graders.shutdown(wait=True, cancel_futures=False)
        if fatal:
            raise fatal[0]


def _params(config: RunConfig, index: int):  # type: ignore[no-untyped-def]
    # distinct, reproducible seeds per sample: sample i of a seeded run always gets seed + i
    seed = config.params.seed
    return config.params if seed is None else attrs.evolve(config.params, seed=seed + index)


def _grade(job: RunJob, problem: Problem, index: int, completion: Completion) -> SampleResult:
    program = ""
    if completion.error:
        verdict = Verdict(status="error", detail=f"generation failed: {completion.error}")
    else:
        try:
            program = job.benchmark.parse(problem, completion, job.style)
            verdict = job.benchmark.grade(problem, program, job.sandbox)
        except Exception as exc:  # a benchmark bug must not lose the run; it is recorded against the sample
            tail = "".join(traceback.format_exception(exc)[-3:]).strip()
            log.error("grading_failed", problem=problem.id, sample=index, error=repr(exc))
            verdict = Verdict(status="error", detail=f"grader crashed: {tail}")
    return SampleResult(
        problem_id=problem.id,
        sample_index=index,
        attempts=(Attempt(completion=completion, program=program, verdict=verdict),),
        attributes=problem.attributes,
    )


@hookimpl
def bench_runner_register_engines(register: EngineRegistrar) -> None:
    register("local", LocalEngine, description="generation and sandboxed grading overlapped on this machine")
