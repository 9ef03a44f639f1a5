"""The entry point: registers ``humaneval`` and ``humaneval_plus`` and their options. Nothing is read here."""

from __future__ import annotations

from typing import Any

from bench_runner import BenchmarkRegistrar, DatasetRegistrar, Option, OptionRegistrar, RunConfig, hookimpl


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
        description="HumanEval+ (EvalPlus) base and plus tests; its release file is fetched on first use",
    )


def _humaneval_plus_data() -> Any:
    from bench_runner_humaneval.release import HumanEvalPlusData

    return HumanEvalPlusData()


@hookimpl
def bench_runner_register_datasets(register: DatasetRegistrar) -> None:
    register("humaneval_plus", _humaneval_plus_data, description="EvalPlus's HumanEval+ release file")


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    register(Option(name="problems_file", type="path", help="problems file in the benchmark's official format"))
