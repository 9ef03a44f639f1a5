#!/usr/bin/env python3
"""bench_runner: score code-generating LLMs on coding benchmarks.

The one module plugin authors import: ``hookimpl``, the records, the
protocols and the sandbox jobs. Everything under ``bench_runner_core`` may
change without notice.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _alias_checkout_packages() -> None:
    # Run from a checkout (./bench_runner.py) without an install: the folders
    # core/ and parsers/ are importable only under their installed names.
    here = Path(__file__).resolve().parent
    for name, folder in (("bench_runner_core", "core"), ("bench_runner_parsers", "parsers")):
        if name in sys.modules or not (here / folder / "__init__.py").exists():
            continue
        spec = importlib.util.spec_from_file_location(
            name, here / folder / "__init__.py", submodule_search_locations=[str(here / folder)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


if importlib.util.find_spec("bench_runner_core") is None:
    _alias_checkout_packages()

from bench_runner_core import datasets  # noqa: E402
from bench_runner_core.api import (  # noqa: E402
    Backend,
    BadInput,
    Benchmark,
    Engine,
    GivesFeedback,
    Option,
    PlacesWork,
    PlansSamples,
    RunJob,
    SamplesFile,
    Sandbox,
    Sink,
)
from bench_runner_core.datasets import DataFile, Dataset, DataSnapshot  # noqa: E402
from bench_runner_core.files import atomic_writer, file_sha256, hf_hub_cache, read_jsonl  # noqa: E402
from bench_runner_core.hookspecs import hookimpl  # noqa: E402
from bench_runner_core.kernel import Kernel  # noqa: E402
from bench_runner_core.records import (  # noqa: E402
    Attempt,
    Completion,
    GenerationParams,
    GenerationRequest,
    Message,
    Problem,
    Prompt,
    PromptStyle,
    RunConfig,
    RunInfo,
    RunSummary,
    SampleResult,
    Verdict,
)
from bench_runner_core.registry import (  # noqa: E402
    BackendRegistrar,
    BenchmarkRegistrar,
    CommandRegistrar,
    DatasetRegistrar,
    EngineRegistrar,
    OptionRegistrar,
    SinkRegistrar,
)
from bench_runner_core.sandbox.jobs import CheckJob, Limits, StdioCase, StdioJob  # noqa: E402
from bench_runner_core.sandbox.remote import NotPlainData, ProgramError  # noqa: E402
from bench_runner_parsers.code import extract_code, extract_function, fenced_blocks, strip_thinking  # noqa: E402

__all__ = [
    "Attempt",
    "Backend",
    "BackendRegistrar",
    "BadInput",
    "Benchmark",
    "BenchmarkRegistrar",
    "CheckJob",
    "CommandRegistrar",
    "Completion",
    "DataFile",
    "DataSnapshot",
    "Dataset",
    "DatasetRegistrar",
    "Engine",
    "EngineRegistrar",
    "GenerationParams",
    "GenerationRequest",
    "GivesFeedback",
    "Kernel",
    "Limits",
    "Message",
    "NotPlainData",
    "Option",
    "OptionRegistrar",
    "PlacesWork",
    "PlansSamples",
    "Problem",
    "ProgramError",
    "Prompt",
    "PromptStyle",
    "RunConfig",
    "RunInfo",
    "RunJob",
    "RunSummary",
    "SampleResult",
    "SamplesFile",
    "Sandbox",
    "Sink",
    "SinkRegistrar",
    "StdioCase",
    "StdioJob",
    "Verdict",
    "atomic_writer",
    "datasets",
    "extract_code",
    "extract_function",
    "fenced_blocks",
    "file_sha256",
    "hf_hub_cache",
    "hookimpl",
    "main",
    "read_jsonl",
    "strip_thinking",
]


def main(argv: list[str] | None = None) -> None:
    """The ``bench_runner`` command."""
    from bench_runner_core.cli import run_cli

    run_cli(argv)


if __name__ == "__main__":
    main()
