"""The entry point: registers ``humaneval`` and ``humaneval_plus`` and their options. Nothing is read here."""

from __future__ import annotations

from typing import Any

from bench_runner import BenchmarkRegistrar, Option, OptionRegistrar, RunConfig, hookimpl


def _humaneval(config: RunConfig) -> Any:
    from bench_runner_humaneval.benchmark import HumanEval

    return HumanEval(problems_file=config.options.get("problems_file"))


def _humaneval_plus(config: RunConfig) -> Any:
    from bench_runner_humaneval.benchmark import HumanEval

    return HumanEval(problems_file=config.options.get("problems_file"), plus=True)


@hookimpl
def bench_runner_register_benchmarks(register: BenchmarkRegistrar) -> None:
    register(
        "humaneval",
        _humaneval,
        description="HumanEval (OpenAI), graded with its check() tests",
        aliases=("human_eval",),
    )
    register(
        "humaneval_plus",
        _humaneval_plus,
        description="HumanEval+ (EvalPlus) base and plus tests; needs --problems-file HumanEvalPlus.jsonl.gz",
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    register(Option(name="problems_file", type="path", help="problems file in the benchmark's official format"))
