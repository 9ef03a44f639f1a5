"""Every hook bench_runner calls, grouped by lifecycle phase.

Each hook is called with keyword arguments. Registration hooks receive a
typed registrar (``bench_runner_core.registry``), called like a function, so
the kernel decides about names and collisions and a misspelled keyword fails
at once. Registration must be cheap: no model load, network call or file scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from bench_runner_core.records import RunInfo, RunSummary, SampleResult

if TYPE_CHECKING:
    from bench_runner_core.registry import (
        BackendRegistrar,
        BenchmarkRegistrar,
        CommandRegistrar,
        DatasetRegistrar,
        EngineRegistrar,
        OptionRegistrar,
        SinkRegistrar,
    )

PROJECT = "bench_runner"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- plugin setup: called when a plugin registers ---------------------------


@hookspec(historic=True)
def bench_runner_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add a plugin's own hooks: call ``pluginmanager.add_hookspecs(module_or_class)``.

    Historic: called for every plugin as it registers, whatever the order, so
    other plugins may implement the new hooks. The plugin calls them later
    through ``kernel.pm.hook``.
    """


# --- registration: called once per process, when the CLI is built ---------


@hookspec
def bench_runner_register_benchmarks(register: BenchmarkRegistrar) -> None:
    """Register benchmarks.

    Call ``register(name, factory, *, description="", aliases=())`` once per
    benchmark. ``factory(config: RunConfig) -> Benchmark`` is called only when
    a run uses the benchmark; ``aliases`` are other names that select it. A
    name registered twice is an error.
    """


@hookspec
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    """Register model backends.

    Call ``register(name, factory, *, description="", handles=None, fallback=False)``.
    ``factory(config: RunConfig, benchmark: Benchmark) -> Backend`` is called
    only when a run uses the backend; import heavy libraries there, not at
    module level. When no ``--backend`` is given, the one backend whose
    ``handles(config: RunConfig) -> bool`` claims the run is used (``replay``
    claims ``--samples``, ``llama_cpp`` claims ``--model *.gguf``); if none
    claims it, the backend registered with ``fallback=True`` runs it.
    """


@hookspec
def bench_runner_register_sinks(register: SinkRegistrar) -> None:
    """Register result sinks.

    Call ``register(name, factory, *, description="", default=True)``.
    ``factory(config: RunConfig) -> Sink``. Default sinks run unless
    ``--sink`` names others.
    """


@hookspec
def bench_runner_register_engines(register: EngineRegistrar) -> None:
    """Register engines, which schedule generation and grading.

    Call ``register(name, factory, *, description="")``;
    ``factory(config: RunConfig) -> Engine``.
    """


@hookspec
def bench_runner_register_options(register: OptionRegistrar) -> None:
    """Add command-line options to the run form of ``bench_runner``.

    Call ``register(Option(...))``. The value lands in ``RunConfig.options``
    under ``option.name``. Two plugins may declare the same option only with
    the same type.
    """


@hookspec
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    """Add subcommands: ``bench_runner NAME ...``.

    Call ``register(command)`` with a ``click.Command`` or ``click.Group``,
    named by ``command.name``. Inside it, ``click.pass_obj`` gives the
    ``Kernel`` (plugin manager, registry, config building, runs). Import heavy
    modules inside the command's function, not at registration.
    """


@hookspec
def bench_runner_register_datasets(register: DatasetRegistrar) -> None:
    """Register benchmark data that bench_runner can fetch on demand.

    Call ``register(name, factory, *, description="")`` once per dataset;
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
def bench_runner_attempt_finished(run: RunInfo, sample: SampleResult) -> None:
    """An attempt of a sample failed and another follows (iterative modes).

    ``sample`` holds the attempts so far, the last with the feedback the next
    attempt gets; ``sample.complete`` is false. Called from the kernel's thread,
    before the sample is checkpointed as unfinished.
    """


@hookspec
def bench_runner_sample_finished(run: RunInfo, sample: SampleResult) -> None:
    """A sample is graded and checkpointed. Called from the kernel's thread, in finish order."""


@hookspec
def bench_runner_run_finished(run: RunInfo, summary: RunSummary) -> None:
    """A run ended (``summary.complete`` is false if it was interrupted)."""


# --- campaigns: called by the campaigns plugin --------------------------------


@hookspec
def bench_runner_campaign_compared(folder: str) -> None:
    """A campaign's comparison was written to ``folder`` (beside its ``manifest.json``).

    Called at the end of ``campaign run``/``resume``/``retry-failed`` and by
    ``campaign summarize``. A reporting plugin writes what it adds there (the
    results plugin writes ``report.html``). Returns nothing.
    """


# --- optimizations: called by an optimizer suite --------------------------------


@hookspec
def bench_runner_optimization_finished(results_dir: str, run_id: str, result: Mapping[str, Any]) -> None:
    """A task of an optimization run finished (``bench_runner optimize``, from the optimizers plugin).

    Called in the process that keeps the run's files, once per task each time it
    finishes (a resumed or retried task is reported again), after the run's
    summary ``<results_dir>/<run_id>.json`` was rewritten to include it.
    ``result`` is that task's record from the summary's ``results`` list (see
    README, "Optimization results"): ``task_id``, ``dataset``, ``optimizer``,
    ``model``, ``seed``, ``status`` (``done`` or ``failed``), test scores with
    intervals, the best prompt, budget use per role, cost, time, stop reason and
    history. The results plugin indexes the run in the results database.
    Returns nothing; an implementation must not raise.
    """
