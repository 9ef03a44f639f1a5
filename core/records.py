"""The records that flow through a run. Frozen, keyword-only attrs classes.

Records never know their wire format: (de)serialization lives in
:mod:`bench_runner_core.convert`, the one converter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

SCHEMA_VERSION = 1

PromptStyle = Literal["completion", "chat"]
Status = Literal["passed", "failed", "timeout", "error", "resource_limit"]
Mode = Literal["zero-shot", "iterative", "comparative"]
MODES: tuple[str, ...] = ("zero-shot", "iterative", "comparative")
STATUSES: tuple[str, ...] = ("passed", "failed", "timeout", "error", "resource_limit")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class Problem:
    """One benchmark problem.

    ``attributes`` are the facets scores are broken down by (difficulty,
    platform, ...). ``data`` is private to the benchmark that made the problem
    (tests, entry points); the kernel never looks inside and never writes it.
    """

    id: str
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, repr=False)


@attrs.frozen(kw_only=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@attrs.frozen(kw_only=True)
class Prompt:
    """What is sent to a model: raw ``text`` (completion style) or ``messages`` (chat style)."""

    style: PromptStyle
    text: str = ""
    messages: tuple[Message, ...] = ()
    stop: tuple[str, ...] = ()

    @classmethod
    def completion(cls, text: str, stop: tuple[str, ...] = ()) -> Prompt:
        return cls(style="completion", text=text, stop=stop)

    @classmethod
    def chat(cls, *messages: tuple[str, str], stop: tuple[str, ...] = ()) -> Prompt:
        return cls(
            style="chat",
            messages=tuple(Message(role=r, content=c) for r, c in messages),  # type: ignore[arg-type]
            stop=stop,
        )


@attrs.frozen(kw_only=True)
class GenerationParams:
    """Sampling settings shared by every backend. ``stop`` adds to a prompt's own stop sequences."""

    temperature: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    top_p: float = attrs.field(default=1.0, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)])
    top_k: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    min_p: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    repeat_penalty: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    max_tokens: int = attrs.field(default=512, validator=attrs.validators.gt(0))
    seed: int | None = None
    stop: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class GenerationRequest:
    """One call to a backend: sample ``sample_index`` of ``problem_id``."""

    problem_id: str
    sample_index: int
    prompt: Prompt
    params: GenerationParams


@attrs.frozen(kw_only=True)
class Completion:
    """What a backend returns for one request.

    ``finish_reason`` is ``stop``, ``length`` or ``error``; ``error`` carries a
    one-line reason when generation failed for this sample only (the run goes on).
    ``thinking`` holds reasoning text split off the answer, kept for the record.
    """

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token_s: float | None = None
    duration_s: float = 0.0
    tokens_per_second: float | None = None
    cost: float | None = None
    thinking: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class Verdict:
    """The outcome of grading one program.

    ``detail`` says why (the failing test, the last traceback lines, which limit).
    ``tracks`` holds extra named pass/fail results a benchmark reports next to the
    main one (HumanEval+ reports ``base`` beside the main base+plus verdict).
    """

    status: Status
    detail: str = ""
    tests_passed: int | None = None
    tests_total: int | None = None
    duration_s: float = 0.0
    tracks: Mapping[str, bool] = attrs.field(factory=dict, converter=_frozen_mapping)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@attrs.frozen(kw_only=True)
class Attempt:
    """One generate-parse-grade round of a sample (iterative modes make several).

    ``feedback`` is what the model was told about this attempt's failure before
    the next attempt (empty when no attempt followed).
    """

    completion: Completion
    program: str
    verdict: Verdict
    feedback: str = ""


@attrs.frozen(kw_only=True)
class SampleResult:
    """One sample: a line of the ``samples.jsonl`` checkpoint.

    ``complete`` is false for a sample between attempts (iterative modes): its
    line records the attempts made so far, so a resumed run goes on from there.
    """

    problem_id: str
    sample_index: int
    attempts: tuple[Attempt, ...]
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)
    complete: bool = True

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def verdict(self) -> Verdict:
        return self.final.verdict


@attrs.frozen(kw_only=True)
class RunConfig:
    """Everything that defines a run. Built from flags or a config file, stored in the summary."""

    benchmark: str
    backend: str
    model: str | None = None
    params: GenerationParams = GenerationParams()
    n_samples: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    limit: int | None = None
    problems: tuple[str, ...] = ()
    prompt_style: PromptStyle | None = None
    #: zero-shot: one attempt; iterative: retry with feedback; comparative: iterative, scored both ways
    mode: Mode = attrs.field(default="zero-shot", validator=attrs.validators.in_(MODES))
    #: attempts per sample at most in the iterative modes
    max_iterations: int = attrs.field(default=10, validator=attrs.validators.gt(0))
    workers: int | None = None
    engine: str = "local"
    sinks: tuple[str, ...] = ()
    results_dir: str = "benchmark_results"
    history: str = "benchmark_results.json"
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen(kw_only=True)
class RunInfo:
    """A started run, handed to sinks and lifecycle hooks."""

    run_id: str
    config: RunConfig
    start_time: str
    total_samples: int
    problems: tuple[Problem, ...] = attrs.field(repr=False)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    run_dir: str = ""
    #: samples already checkpointed by an earlier session of this run (``--resume``), and how many passed
    restored: int = 0
    restored_passed: int = 0


@attrs.frozen(kw_only=True)
class ProblemResult:
    """One problem's outcome. ``success``: a sample passed; ``iterations`` and ``cost``: over its samples."""

    problem_id: str
    n: int
    passed: int
    success: bool = False
    iterations: int = 0
    cost: float = 0.0
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)
    statuses: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen(kw_only=True)
class ModeSummary:
    """A mode's aggregates over problems (a problem succeeds if one of its samples passed)."""

    total_problems: int
    successes: int
    success_rate: float
    total_cost: float
    avg_cost: float
    avg_iterations: float


@attrs.frozen(kw_only=True)
class ModeResults:
    """One mode's view of a comparative run: per-problem results and their aggregates."""

    results: tuple[ProblemResult, ...]
    summary: ModeSummary


@attrs.frozen(kw_only=True)
class Comparison:
    """Iterative minus zero-shot over the same problems, with paired statistics.

    ``success_rate_improvement_ci95`` is Newcombe's hybrid score interval for a
    paired difference of proportions; ``mcnemar_p_value`` the exact (binomial)
    McNemar test over problems whose outcome changed: ``fixed`` (failed
    zero-shot, passed iterative) and ``broken`` (the reverse).
    """

    success_rate_improvement: float
    success_rate_improvement_ci95: tuple[float, float]
    mcnemar_p_value: float
    fixed: int
    broken: int
    cost_difference: float
    iteration_difference: float


@attrs.frozen(kw_only=True)
class Summary:
    """Aggregates over a run's samples."""

    total_problems: int
    total_samples: int
    successes: int
    success_rate: float
    pass_at_k: Mapping[str, float]
    tracks: Mapping[str, Mapping[str, float]] = attrs.field(factory=dict, converter=_frozen_mapping)
    breakdowns: Mapping[str, Mapping[str, float]] = attrs.field(factory=dict, converter=_frozen_mapping)
    statuses: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    total_cost: float = 0.0
    avg_cost: float = 0.0
    avg_iterations: float = 1.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@attrs.frozen(kw_only=True)
class RunSummary:
    """The run summary file, ``<results-dir>/<run_id>.json``."""

    run_id: str
    mode: str
    start_time: str
    end_time: str
    duration_seconds: float
    config: RunConfig
    metadata: Mapping[str, Any]
    results: tuple[ProblemResult, ...]
    summary: Summary
    complete: bool = True
    #: comparative runs only: the same samples scored at their first attempt and at their last
    zero_shot: ModeResults | None = None
    iterative: ModeResults | None = None
    comparison: Comparison | None = None
    schema_version: int = SCHEMA_VERSION
