"""The contracts a plugin implements: benchmarks, backends, sinks, engines, options.

Plugin authors reach these through ``bench_runner`` (the public face); this
module may grow, but a name here changes only with a deprecation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from bench_runner_core.records import (
    Completion,
    GenerationRequest,
    Problem,
    Prompt,
    PromptStyle,
    RunConfig,
    RunInfo,
    RunSummary,
    SampleResult,
    Verdict,
)

if TYPE_CHECKING:
    from bench_runner_core.sandbox.jobs import Job


class BadInput(Exception):
    """A user error: printed as one line (the problem, then the fix), exit code 2."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}" if self.fix else self.problem


@attrs.frozen(kw_only=True)
class Option:
    """A command-line option a plugin adds to ``bench_runner``.

    ``name`` is the key in ``RunConfig.options`` (``start_date`` for
    ``--start-date``). ``type`` is one of ``str``, ``int``, ``float``, ``bool``
    (a flag), ``path`` or ``choice`` (then ``choices`` lists the values).
    ``group`` titles the section of ``--help`` the option appears in.
    """

    name: str
    help: str
    type: str = attrs.field(
        default="str", validator=attrs.validators.in_(("str", "int", "float", "bool", "path", "choice"))
    )
    default: Any = None
    choices: tuple[str, ...] = ()
    multiple: bool = False
    group: str = "plugin options"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@attrs.frozen(kw_only=True)
class SamplesFile:
    """Completions produced elsewhere, read by a benchmark for the ``replay`` backend.

    ``completions`` maps a problem id to its samples in order; ``style`` says
    how to parse them (``completion``: a continuation of the prompt; ``chat``:
    a reply or a whole program).
    """

    path: str
    style: PromptStyle
    completions: Mapping[str, Sequence[str]]


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted programs. Thread-safe: graders call ``run`` from many threads."""

    def run(self, job: Job) -> Verdict:
        """Run one job to a verdict; never raises for anything the program does."""
        ...


@runtime_checkable
class Benchmark(Protocol):
    """A benchmark parser: problems in, prompts out, completions parsed and graded.

    Made by the factory registered under its name, with the run's config.
    """

    def load_problems(self) -> Sequence[Problem]:
        """All problems the options select, in the benchmark's canonical order."""
        ...

    def prompt(self, problem: Problem, style: PromptStyle) -> Prompt:
        """The prompt for one problem in the given style."""
        ...

    def parse(self, problem: Problem, completion: Completion, style: PromptStyle) -> str:
        """The program to grade, extracted from a completion (may be empty)."""
        ...

    def grade(self, problem: Problem, program: str, sandbox: Sandbox) -> Verdict:
        """Grade a program against the problem's tests, through ``sandbox`` only."""
        ...

    def read_samples(self, path: str) -> SamplesFile:
        """Read a samples file in this benchmark's usual format; ``BadInput`` if it is not one."""
        ...

    def metadata(self) -> Mapping[str, Any]:
        """Facts about the selection to record in the run (release, date window...)."""
        ...

    def export(self, results: Sequence[SampleResult], problems: Sequence[Problem], path: str) -> None:
        """Write results in the format of the benchmark's official tool."""
        ...


@runtime_checkable
class Backend(Protocol):
    """A source of completions. ``start`` does the heavy work (load, spawn, connect).

    Optional: a backend that decides itself which problems run and how many
    samples each gets (``replay`` grades what a samples file holds) also
    implements :class:`PlansSamples`.
    """

    #: how many ``generate`` calls may run at once
    concurrency: int

    def start(self) -> Mapping[str, Any]:
        """Load the model or reach the server; return facts for the run record. ``BadInput`` on failure."""
        ...

    def default_prompt_style(self) -> PromptStyle:
        """``chat`` if the model has a chat template or the API is chat, else ``completion``."""
        ...

    def generate(self, request: GenerationRequest) -> Completion:
        """One completion. Per-sample failures come back as ``Completion(error=...)``."""
        ...

    def close(self) -> None:
        """Release the model or stop the server. Safe to call twice."""
        ...


@runtime_checkable
class PlansSamples(Protocol):
    """The optional ``Backend`` method ``planned_samples``."""

    def planned_samples(self, problems: Sequence[Problem]) -> Mapping[str, int] | None:
        """Problem id -> samples to run, for the selected ``problems``; ``None`` leaves it to ``--n-samples``.

        Called once, before ``start``. Problems left out (or mapped to 0) do not run.
        """
        ...


@runtime_checkable
class Sink(Protocol):
    """Where results go. Called from one thread, in order."""

    def run_started(self, run: RunInfo) -> None: ...

    def sample_finished(self, run: RunInfo, sample: SampleResult) -> None: ...

    def run_finished(self, run: RunInfo, summary: RunSummary) -> None: ...


@runtime_checkable
class Engine(Protocol):
    """Schedules generation and grading of a run's pending samples."""

    def execute(self, job: RunJob) -> None:
        """Generate, parse and grade every item of ``job.pending``, calling ``job.finished`` per sample."""
        ...


@runtime_checkable
class PlacesWork(Protocol):
    """Optional ``Engine`` methods: the engine decides where generation and grading run (a cluster).

    Without them the kernel starts the backend in its own process and grades in
    a local :class:`SandboxPool`. An engine that implements them returns stand-ins
    with the same contracts, so the rest of the run (checkpoint, sinks, resume)
    stays on the calling machine and does not change.
    """

    def place_backend(self, backend: Backend, make: Callable[[], Backend]) -> Backend:
        """The backend the run generates with. ``make()`` builds a fresh, unstarted copy wherever it is called."""
        ...

    def place_sandbox(self) -> PlacedSandbox:
        """The sandbox the run grades with."""
        ...


@runtime_checkable
class PlacedSandbox(Sandbox, Protocol):
    """A sandbox a run owns: what protections were in force, and ``close()`` at the end."""

    @property
    def protections(self) -> Mapping[str, Any]: ...

    def close(self) -> None: ...


@attrs.frozen(kw_only=True)
class RunJob:
    """What an engine is handed: the pending work and the parts to do it with."""

    run: RunInfo
    pending: Sequence[tuple[Problem, int]]
    benchmark: Benchmark
    backend: Backend
    sandbox: Sandbox
    style: PromptStyle
    finished: Callable[[SampleResult], None]
    should_stop: Callable[[], bool]


BenchmarkFactory = Callable[[RunConfig], Benchmark]
BackendFactory = Callable[[RunConfig, Benchmark], Backend]
SinkFactory = Callable[[RunConfig], Sink]
EngineFactory = Callable[[RunConfig], Engine]
