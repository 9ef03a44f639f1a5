"""Every hook bench_runner calls, grouped by lifecycle phase.

Each hook is called with keyword arguments. Registration hooks receive a
``register`` callback so the kernel decides about names and collisions; they
must be cheap: no model load, network call or file scan.
"""

from __future__ import annotations

import pluggy

from bench_runner_core.records import RunInfo, RunSummary, SampleResult

PROJECT = "bench_runner"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration: called once per process, when the CLI is built ---------


@hookspec
def bench_runner_register_benchmarks(register) -> None:  # type: ignore[no-untyped-def]
    """Register benchmarks.

    Call ``register(name, factory, description="")`` once per benchmark.
    ``factory(config: RunConfig) -> Benchmark`` is called only when a run uses
    the benchmark. Returns nothing; a name registered twice is an error.
    """


@hookspec
def bench_runner_register_backends(register) -> None:  # type: ignore[no-untyped-def]
    """Register model backends.

    Call ``register(name, factory, description="", handles=None, fallback=False)``.
    ``factory(config: RunConfig, benchmark: Benchmark) -> Backend`` is called
    only when a run uses the backend; import heavy libraries there, not at
    module level. When no ``--backend`` is given, the one backend whose
    ``handles(config: RunConfig) -> bool`` claims the run is used (``replay``
    claims ``--samples``, ``llama_cpp`` claims ``--model *.gguf``); if none
    claims it, the backend registered with ``fallback=True`` runs it.
    """


@hookspec
def bench_runner_register_sinks(register) -> None:  # type: ignore[no-untyped-def]
    """Register result sinks.

    Call ``register(name, factory, description="", default=True)``.
    ``factory(config: RunConfig) -> Sink``. Default sinks run unless
    ``--sink`` names others.
    """


@hookspec
def bench_runner_register_engines(register) -> None:  # type: ignore[no-untyped-def]
    """Register engines, which schedule generation and grading.

    Call ``register(name, factory, description="")``;
    ``factory(config: RunConfig) -> Engine``.
    """


@hookspec
def bench_runner_register_options(register) -> None:  # type: ignore[no-untyped-def]
    """Add command-line options to ``bench_runner``.

    Call ``register(Option(...))``. The value lands in ``RunConfig.options``
    under ``option.name``. Two plugins may declare the same option only with
    the same type.
    """


@hookspec
def bench_runner_register_datasets(register) -> None:  # type: ignore[no-untyped-def]
    """Register benchmark data that bench_runner can fetch on demand.

    Call ``register(name, factory, description="")`` once per dataset;
    ``factory() -> Dataset`` (``bench_runner.Dataset``: ``fetch(version,
    download=True) -> DataSnapshot`` and ``cached()``) is called only when a
    ``bench_runner data`` command needs it. A benchmark that fetches its own
    data names its dataset after itself and calls the same object when a run
    gives no data file. Returns nothing; a name registered twice is an error.
    """


# --- run lifecycle: called by the kernel, in this order --------------------


@hookspec
def bench_runner_run_started(run: RunInfo) -> None:
    """A run is about to generate: problems are loaded and the backend started."""


@hookspec
def bench_runner_sample_finished(run: RunInfo, sample: SampleResult) -> None:
    """A sample is graded and checkpointed. Called from the kernel's thread, in finish order."""


@hookspec
def bench_runner_run_finished(run: RunInfo, summary: RunSummary) -> None:
    """A run ended (``summary.complete`` is false if it was interrupted)."""
