"""Registers ``lcb`` and its options. Cheap: nothing is read until a run uses the benchmark."""

from __future__ import annotations

from bench_runner import Benchmark, BenchmarkRegistrar, Option, OptionRegistrar, RunConfig, hookimpl


def factory(config: RunConfig) -> Benchmark:
    from bench_runner_lcb.benchmark import LiveCodeBench

    return LiveCodeBench.from_config(config)


@hookimpl
def bench_runner_register_benchmarks(register: BenchmarkRegistrar) -> None:
    register("lcb", factory, description="LiveCodeBench code generation (scored as lcb_runner scores it)")


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    register(Option(name="problems_file", type="path", help="problems file in the benchmark's official format"))
    group = "lcb"
    register(
        Option(
            name="release_version",
            help="LiveCodeBench release: release_v1 ... release_v6, release_latest (default), vN or vA_vB",
            group=group,
        )
    )
    register(Option(name="start_date", help="keep problems whose contest_date >= this day (YYYY-MM-DD)", group=group))
    register(Option(name="end_date", help="keep problems whose contest_date <= this day at 00:00", group=group))
    register(
        Option(
            name="platform",
            type="choice",
            choices=("leetcode", "codeforces", "atcoder"),
            multiple=True,
            help="keep only problems from this platform (repeatable)",
            group=group,
        )
    )
    register(
        Option(
            name="difficulty",
            type="choice",
            choices=("easy", "medium", "hard"),
            multiple=True,
            help="keep only problems of this difficulty (repeatable)",
            group=group,
        )
    )
    register(
        Option(
            name="lcb_timeout",
            type="float",
            default=6.0,
            help="seconds per test, as lcb_runner's --timeout",
            group=group,
        )
    )
