"""One run, start to end: resolve plugins, plan the work, resume, drive the engine, record."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog

from bench_runner_core.api import Backend, BadInput, Benchmark, Engine, PlacesWork, PlansSamples, RunJob, Sink
from bench_runner_core.manager import plugin_versions
from bench_runner_core.records import Attempt, Problem, RunConfig, RunInfo, RunSummary, SampleResult
from bench_runner_core.registry import Registry
from bench_runner_core.scoring import compare_modes, summarize
from bench_runner_core.selection import select_problems
from bench_runner_core.store import RunStore, new_run_id, now_iso

log = structlog.get_logger()


def split_model_spec(registry: Registry, backend: str, model: str | None) -> tuple[str, str | None]:
    """``BACKEND/MODEL`` as LiteLLM users write it (``ollama/llama3``) -> ``(backend, model)``.

    A model that is an existing path, or whose prefix is no backend's name, is left alone.
    """
    if not model or "/" not in model or Path(model).expanduser().exists():
        return backend, model
    prefix, rest = model.split("/", 1)
    if rest and prefix in registry.items["backend"] and backend in ("", prefix):
        return prefix, rest
    return backend, model


def resolve_backend(registry: Registry, config: RunConfig) -> str:
    """The backend a run uses: ``--backend``, else the one backend that claims it, else the fallback."""
    if config.backend:
        return registry.get("backend", config.backend).name
    regs = registry.items["backend"].values()
    claims = [r.name for r in regs if r.handles is not None and r.handles(config)]
    if len(claims) == 1:
        return claims[0]
    if len(claims) > 1:
        raise BadInput(f"several backends can run this ({', '.join(claims)})", "pick one with --backend")
    fallback = [r.name for r in regs if r.fallback]
    if fallback:
        return fallback[0]
    raise BadInput("no backend can run this model", "pass --backend NAME (see `bench_runner plugins`)")


@attrs.define
class Run:
    """A run being executed, in four steps: ``plan``, ``start``, ``drive``, ``finish``.

    ``execute()`` runs them in order; ``stop()`` asks it to finish the samples in
    flight and return a summary with ``complete=False`` (Ctrl-C).
    """

    registry: Registry
    config: RunConfig
    run_id: str
    resumed: bool = False
    start_time: str = attrs.field(factory=now_iso)
    export: str | None = None
    _stop: threading.Event = attrs.field(factory=threading.Event)
    samples: list[SampleResult] = attrs.field(factory=list)
    # set by the steps, in order
    store: RunStore | None = None
    benchmark: Benchmark | None = None
    backend: Backend | None = None
    engine: Engine | None = None
    problems: list[Problem] = attrs.field(factory=list)
    pending: list[tuple[Problem, int]] = attrs.field(factory=list)
    info: RunInfo | None = None
    sinks: list[Sink] = attrs.field(factory=list)
    sandbox: Any = None
    _per_problem: Mapping[str, int] = attrs.field(factory=dict)
    #: attempts already made by samples a resumed run left unfinished
    _unfinished: dict[tuple[str, int], tuple[Attempt, ...]] = attrs.field(factory=dict)
    _started: float = attrs.field(factory=time.monotonic)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def execute(self) -> RunSummary:
        self.plan()
        failure: BadInput | None = None
        try:
            self.start()
            failure = self.drive()
        finally:
            self.close()
        return self.finish(failure)

    def plan(self) -> None:
        """Make the benchmark and backend, select problems, and find what is left to do."""
        config = self.config
        self.store = RunStore(config.results_dir)
        self.store.ensure_writable()
        self.sinks = self._make_sinks()  # a sink that cannot work says so before anything is written
        self.benchmark = self.registry.get("benchmark", config.benchmark).factory(config)
        benchmark_factory = self.registry.get("benchmark", config.benchmark).factory
        backend_factory = self.registry.get("backend", config.backend).factory
        self.backend = backend_factory(config, self.benchmark)
        self.engine = self.registry.get("engine", config.engine).factory(config)
        problems = select_problems(self.benchmark.load_problems(), config.problems, config.limit)
        plan = self.backend.planned_samples(problems) if isinstance(self.backend, PlansSamples) else None
        if isinstance(self.engine, PlacesWork):
            self.backend = self.engine.place_backend(
                self.backend, functools.partial(_make_backend, backend_factory, benchmark_factory, config)
            )
        self._per_problem = plan if plan is not None else {p.id: config.n_samples for p in problems}
        self.problems = [p for p in problems if self._per_problem.get(p.id)]
        if not self.problems:
            raise BadInput("no problems selected", "check --problems, --limit and the benchmark's filters")
        done: dict[tuple[str, int], SampleResult] = {}
        if self.resumed:
            for sample in self.store.read_checkpoint(self.run_id):
                key = (sample.problem_id, sample.sample_index)
                if sample.complete:
                    done[key] = sample
                else:  # killed between attempts: the sample goes on at its next attempt
                    self._unfinished[key] = sample.attempts
        else:
            self.store.create(self.run_id, config, self.start_time)
        self.pending = [(p, i) for p in self.problems for i in range(self._per_problem[p.id]) if (p.id, i) not in done]
        self.samples = list(done.values())

    def start(self) -> None:
        """Start the backend and the sandbox, make the sinks, and announce the run."""
        assert self.benchmark is not None and self.backend is not None and self.store is not None
        self._started = time.monotonic()
        metadata: dict[str, Any] = {
            "benchmark": dict(self.benchmark.metadata()),
            "plugins": plugin_versions(self.registry.pm),
        }
        metadata["backend"] = dict(self.backend.start()) if self.pending else {}
        style = self.config.prompt_style or self.backend.default_prompt_style()
        metadata["prompt_style"] = style
        if isinstance(self.engine, PlacesWork):
            self.sandbox = self.engine.place_sandbox()
        else:
            from bench_runner_core.sandbox.pool import SandboxPool  # the pool starts worker processes

            self.sandbox = SandboxPool(workers=self.config.workers)
        metadata["sandbox"] = dict(self.sandbox.protections)
        self.info = RunInfo(
            run_id=self.run_id,
            config=self.config,
            start_time=self.start_time,
            total_samples=sum(self._per_problem[p.id] for p in self.problems),
            problems=tuple(self.problems),
            metadata=metadata,
            run_dir=str(self.store.run_dir(self.run_id)),
            restored=len(self.samples),
            restored_passed=sum(s.verdict.passed for s in self.samples),
        )
        self._emit("run_started", run=self.info)
        log.info("run_started", run_id=self.run_id, pending=len(self.pending), done=len(self.samples), style=style)

    def drive(self) -> BadInput | None:
        """Hand the pending samples to the engine; a backend giving up mid-run is returned, not raised."""
        assert self.info is not None and self.benchmark is not None and self.backend is not None
        assert self.engine is not None
        info = self.info

        def finished(sample: SampleResult) -> None:
            self.samples.append(sample)
            self._emit("sample_finished", run=info, sample=sample)

        def attempted(sample: SampleResult) -> None:
            self._emit("attempt_finished", run=info, sample=sample)

        try:
            self.engine.execute(
                RunJob(
                    run=info,
                    pending=self.pending,
                    benchmark=self.benchmark,
                    backend=self.backend,
                    sandbox=self.sandbox,
                    style=info.metadata["prompt_style"],
                    finished=finished,
                    should_stop=lambda: self.stopped,
                    attempted=attempted,
                    resumed=self._unfinished,
                )
            )
        except BadInput as exc:  # the backend gave up mid-run: keep what was done and say how to finish
            return exc
        return None

    def close(self) -> None:
        """Release the backend and the sandbox; safe after any step."""
        if self.backend is not None:
            self.backend.close()
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def finish(self, failure: BadInput | None = None) -> RunSummary:
        """Score what was done, tell the sinks, export; re-raise a mid-run failure with the resume command."""
        assert self.info is not None and self.benchmark is not None
        config = self.config
        results, numbers = summarize(self.problems, self.samples)
        modes: dict[str, Any] = {}
        if config.mode == "comparative":
            zero_shot, iterative, comparison = compare_modes(self.problems, self.samples)
            modes = {"zero_shot": zero_shot, "iterative": iterative, "comparison": comparison}
        summary = RunSummary(
            run_id=self.run_id,
            mode=config.mode,
            start_time=self.start_time,
            end_time=now_iso(),
            duration_seconds=round(time.monotonic() - self._started, 3),
            config=config,
            metadata=self.info.metadata,
            results=results,
            summary=numbers,
            complete=len(self.samples) == self.info.total_samples,
            **modes,
        )
        self._emit("run_finished", run=self.info, summary=summary)
        if failure is not None:
            resume = f"bench_runner --resume {self.run_id} --results-dir {config.results_dir}"
            fix = (
                f"{failure.fix}, then finish the run with `{resume}`"
                if failure.fix
                else f"finish the run with `{resume}`"
            )
            raise BadInput(failure.problem, fix)
        if self.export and summary.complete:
            self.benchmark.export(sorted(self.samples, key=_order(self.problems)), self.problems, self.export)
        return summary

    def _make_sinks(self) -> list[Sink]:
        regs = self.registry.items["sink"]
        wanted = self.config.sinks or [n for n, r in regs.items() if r.default]
        made = {name: self.registry.get("sink", name).factory(self.config) for name in wanted}
        # in registration order whatever order --sink gave: the history before the summary (see sinks.py)
        return [made[name] for name in sorted(made, key=list(regs).index)]

    def _emit(self, event: str, **kwargs: Any) -> None:
        getattr(self.registry.pm.hook, f"bench_runner_{event}")(**kwargs)
        for sink in self.sinks:
            method = getattr(sink, event, None)
            if method is not None:
                method(**kwargs)


def _make_backend(backend_factory: Any, benchmark_factory: Any, config: RunConfig) -> Backend:
    # module-level, so an engine can ship it to another process or machine
    return backend_factory(config, benchmark_factory(config))


def _order(problems: Sequence[Problem]):  # type: ignore[no-untyped-def]
    index = {p.id: i for i, p in enumerate(problems)}
    return lambda s: (index.get(s.problem_id, len(index)), s.sample_index)


__all__ = ["Run", "new_run_id", "resolve_backend", "split_model_spec"]
