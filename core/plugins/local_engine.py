"""The ``local`` engine: generation and grading overlap on one machine.

Generation threads (as many as the backend's ``concurrency``) never wait for
grading: each completion is handed to a grading pool sized to the sandbox and
the next request goes out at once. Graded attempts return to the calling
thread, which alone talks to sinks; a sample that gets another attempt
(iterative modes) goes back to the generators ahead of samples not yet begun.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import structlog

from bench_runner_core import attempts
from bench_runner_core.api import BadInput, RunJob
from bench_runner_core.attempts import SampleState
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import Completion, Problem, Prompt, RunConfig
from bench_runner_core.registry import EngineRegistrar

log = structlog.get_logger()
_DONE = object()
_STOP = object()
# how often an idle generator looks at the stop flag
_IDLE_S = 0.2
_REPAIR, _FRESH = 0, 1


class LocalEngine:
    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def execute(self, job: RunJob) -> None:
        order = itertools.count()
        work: queue.PriorityQueue[tuple[int, int, object]] = queue.PriorityQueue()
        for problem, index in job.pending:
            state = SampleState(problem=problem, index=index, attempts=job.resumed.get((problem.id, index), ()))
            work.put((_FRESH, next(order), state))
        results: queue.Queue[object] = queue.Queue()
        prompts: dict[str, Prompt] = {}
        prompt_lock = threading.Lock()
        graders = ThreadPoolExecutor(max_workers=self.config.workers or os.cpu_count() or 2, thread_name_prefix="grade")
        fatal: list[BaseException] = []
        generators_n = max(1, job.backend.concurrency)

        def prompt_for(problem: Problem) -> Prompt:
            with prompt_lock:
                if problem.id not in prompts:
                    prompts[problem.id] = job.benchmark.prompt(problem, job.style)
                return prompts[problem.id]

        def generate_loop() -> None:
            while not job.should_stop() and not fatal:
                try:
                    _, _, item = work.get(timeout=_IDLE_S)
                except queue.Empty:
                    continue
                if item is _STOP:
                    return
                assert isinstance(item, SampleState)
                request = attempts.request(self.config, item, prompt_for(item.problem))
                try:
                    completion = job.backend.generate(request)
                except BadInput as exc:  # the backend cannot go on (server gone, model unusable)
                    fatal.append(exc)
                    return
                except Exception as exc:
                    log.warning("generation_failed", problem=item.problem.id, sample=item.index, error=repr(exc))
                    completion = Completion(text="", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
                results.put(graders.submit(attempts.attempt, job, item, completion))

        generators = [
            threading.Thread(target=generate_loop, name=f"generate-{i}", daemon=True) for i in range(generators_n)
        ]
        for thread in generators:
            thread.start()

        def close_results() -> None:
            for thread in generators:
                thread.join()
            results.put(_DONE)

        def stop_generators() -> None:
            for _ in range(generators_n):
                work.put((_FRESH + 1, next(order), _STOP))

        threading.Thread(target=close_results, name="generate-join", daemon=True).start()
        outstanding = len(job.pending)
        if not outstanding:
            stop_generators()
        try:
            while (item := results.get()) is not _DONE:
                assert isinstance(item, Future)
                state: SampleState = item.result()
                sample = state.result(self.config)
                if sample.complete:
                    job.finished(sample)
                    outstanding -= 1
                    if not outstanding:
                        stop_generators()
                else:
                    job.attempted(sample)
                    work.put((_REPAIR, next(order), state))
        finally:
            graders.shutdown(wait=True, cancel_futures=False)
        if fatal:
            raise fatal[0]


@hookimpl
def bench_runner_register_engines(register: EngineRegistrar) -> None:
    register("local", LocalEngine, description="generation and sandboxed grading overlapped on this machine")
