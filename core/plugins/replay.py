"""The ``replay`` backend: completions from a samples file made elsewhere, graded here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.api import BadInput, Benchmark, Option
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import Completion, GenerationRequest, Problem, PromptStyle, RunConfig
from bench_runner_core.registry import BackendRegistrar, OptionRegistrar

log = structlog.get_logger()


class ReplayBackend:
    concurrency = 1

    def __init__(self, config: RunConfig, benchmark: Benchmark) -> None:
        path = config.options.get("samples")
        if not path:
            raise BadInput("the replay backend needs a samples file", "pass --samples FILE")
        if not Path(path).exists():
            raise BadInput(f"samples file {path!r} does not exist", "pass the path of a samples file to --samples")
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            raise BadInput(
                f"cannot read samples file {path!r} ({exc.strerror})", "check the path and its permissions"
            ) from None
        self.samples = benchmark.read_samples(str(path))

    def planned_samples(self, problems: Sequence[Problem]) -> Mapping[str, int]:
        known = {p.id for p in problems}
        unknown = sorted(set(self.samples.completions) - known)
        if unknown:
            log.warning("samples_not_selected", count=len(unknown), first=unknown[:5])
        return {pid: len(texts) for pid, texts in self.samples.completions.items() if pid in known}

    def start(self) -> Mapping[str, Any]:
        return {"samples_file": str(Path(self.samples.path).resolve()), "model_name": Path(self.samples.path).name}

    def default_prompt_style(self) -> PromptStyle:
        return self.samples.style

    def generate(self, request: GenerationRequest) -> Completion:
        text = self.samples.completions[request.problem_id][request.sample_index]
        return Completion(text=text, finish_reason="replay")

    def close(self) -> None:
        pass


@hookimpl
def bench_runner_register_backends(register: BackendRegistrar) -> None:
    register(
        "replay",
        ReplayBackend,
        description="grade completions from a samples file (--samples) instead of generating",
        handles=lambda config: bool(config.options.get("samples")),
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    register(
        Option(
            name="samples",
            type="path",
            help="grade completions from this file (the benchmark's official samples format) instead of generating",
            group="replay backend",
        )
    )
