"""``bench_runner optimize``: flags to a manifest, the run, and ``optimize results``. Only click is imported here."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any

import click

from bench_runner import BadInput


class Greedy(click.Option):
    """A repeatable option that also takes several values after one flag: ``--models a.gguf b.gguf``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for flag in self.opts:
            option = parser._long_opt.get(flag) or parser._short_opt.get(flag)
            original = option.process

            def process(value: Any, state: Any, _original: Any = original) -> None:
                _original(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    _original(state.rargs.pop(0), state)

            option.process = process


def _settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--model-option {pair!r} is not KEY=VALUE", "write it like --model-option max_tokens=256")
        try:
            out[key.replace("-", "_")] = json.loads(raw)
        except ValueError:
            out[key.replace("-", "_")] = raw
    return out


def build_manifest(values: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest the flags describe, over ``--config``'s when both are given."""
    from bench_runner_optimizers import manifest as manifests

    data: dict[str, Any] = manifests.read(values["config"]) if values["config"] else {}
    if values["datasets"] or values["optimizers"] or values["models"]:
        if not values["datasets"] or not values["optimizers"]:
            raise BadInput(
                "--datasets and --optimizers go together", "pass both, e.g. --datasets gsm8k --optimizers few_shot"
            )
        generator: dict[str, Any] = {"datasets": list(values["datasets"]), "optimizers": list(values["optimizers"])}
        if values["models"]:
            generator["models"] = list(values["models"])
        data.setdefault("generators", []).append(generator)
    if not data.get("tasks") and not data.get("generators"):
        raise BadInput("nothing to optimize", "pass --datasets and --optimizers, or a manifest with --config")
    if len(values["seed"]) == 1:
        data["seed"] = values["seed"][0]
    elif values["seed"]:
        data["seeds"] = list(values["seed"])
    for key in ("max_concurrent", "data_dir", "proposer_model", "engine", "parallel"):
        if values[key] is not None:
            data[key] = values[key]
    if values["ray_address"] is not None:
        data["engine_options"] = {**data.get("engine_options", {}), "ray_address": values["ray_address"]}
    if values["test_mode"]:
        data["test_mode"] = True
    budget = {k: values[k] for k in ("max_trials", "max_rollouts", "max_proposer_tokens") if values[k] is not None}
    if budget:
        data["optimizer_prompt_params"] = {**data.get("optimizer_prompt_params", {}), **budget}
    if values["model_option"]:
        data["model_parameters"] = {**data.get("model_parameters", {}), **_settings(values["model_option"])}
    data.setdefault("schema_version", 1)
    manifests.validate(data, source="the command line" if not values["config"] else values["config"])
    return data


@click.group(name="optimize", invoke_without_command=True)
@click.option(
    "--datasets", "--demo-datasets", "datasets", cls=Greedy, help="datasets to optimize on (several after one flag)"
)
@click.option("--optimizers", "optimizers", cls=Greedy, help="optimizers to compare")
@click.option(
    "--models", "models", cls=Greedy, help="task models: x.gguf, openai/NAME, ollama/NAME (default: embedded)"
)
@click.option("--proposer-model", default=None, help="the model that writes prompts (default: the task model)")
@click.option("--test-mode", is_flag=True, help="5 examples per split: a quick check of the whole pipeline")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=None, help="task-model calls at once")
@click.option("--seed", type=int, cls=Greedy, help="seed; several seeds run every task once per seed")
@click.option("--config", default=None, help="a JSON manifest (see manifest.schema.json); flags override it")
@click.option("--resume", "--resume-run-id", "resume", default=None, help="finish an interrupted run")
@click.option(
    "--retry-failed", "--retry-failed-run-id", "retry_failed", default=None, help="rerun a run's failed tasks"
)
@click.option("--engine", default=None, help="where models generate and code is graded: local (default) or ray")
@click.option("--ray-address", default=None, help="with --engine ray: the cluster (`auto`: the running one)")
@click.option("--parallel", type=click.IntRange(min=1), default=None, help="optimization tasks at once (default 1)")
@click.option("--data-dir", default=None, help="folder laid out like the shared data (default: shipped demo subsets)")
@click.option("--max-trials", type=click.IntRange(min=1), default=None, help="validation scorings per optimization")
@click.option("--max-rollouts", type=click.IntRange(min=1), default=None, help="task-model calls per optimization")
@click.option(
    "--max-proposer-tokens", type=click.IntRange(min=0), default=None, help="proposer tokens per optimization"
)
@click.option(
    "--model-option", cls=Greedy, help="KEY=VALUE bench_runner option for the models (max_tokens=256, base_url=...)"
)
@click.option("--results-dir", default="benchmark_results", help="where runs go")
@click.option("--history", default="benchmark_results.json", help="run history file")
@click.option("--json", "as_json", is_flag=True, help="print the run summary JSON")
@click.pass_context
def optimize(ctx: click.Context, **values: Any) -> None:
    """Benchmark prompt optimizers: tune prompts on train/validation, score them on a held-out test split."""
    if ctx.invoked_subcommand is not None:
        return
    from bench_runner_optimizers import files as files_of
    from bench_runner_optimizers import runner

    kernel = ctx.obj
    run_id = values["resume"] or values["retry_failed"]
    if values["resume"] and values["retry_failed"]:
        raise BadInput("--resume and --retry-failed exclude each other", "pass one of them")
    if run_id:
        files = files_of.RunFiles(values["results_dir"], run_id)
        stored, tasks = files.load()
        # the engine may change on resume (a cluster that is gone, or one to go on with); the results do not
        manifest = {**stored["manifest"], **_placement(values)}
        statuses = files_of.UNFINISHED if values["resume"] else ("failed",)
    else:
        manifest = build_manifest(values)
        from bench_runner_optimizers.manifest import expand

        tasks = expand(manifest)
        files = files_of.RunFiles(values["results_dir"], files_of.new_run_id())
        statuses = ("pending",)
    run = runner.OptimizeRun(kernel=kernel, files=files, manifest=manifest, tasks=tasks)
    if not run_id:
        files.root.mkdir(parents=True, exist_ok=True)
        files.create(manifest, tasks)
    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    echo(f"optimization run {files.run_id}: {len(tasks)} tasks")
    # Ctrl-C and SIGTERM stop the run the same way, also when it was started in the background
    # (where a shell starts it with SIGINT ignored, and Python then leaves it so)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        summary = run.execute(statuses=statuses, progress=echo)
    except KeyboardInterrupt:
        click.echo(
            f"bench_runner: run {files.run_id} interrupted; finish it with:\n"
            f"  bench_runner optimize --resume {files.run_id} --results-dir {values['results_dir']}",
            err=True,
        )
        # tasks of --parallel may still be in a model call, and a normal exit would wait for their thread
        # pools; the checkpoint is written and their models are closed, so leave now (--resume, as after
        # a kill, goes on from the checkpoint and the reply cache)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    from bench_runner_optimizers.results import format_table, history_entry

    if summary["complete"]:
        from bench_runner_core.store import append_history

        append_history(values["history"], history_entry(summary, manifest))
    click.echo(json.dumps(summary, indent=2) if values["as_json"] else format_table(summary))
    if not summary["complete"]:
        click.echo(
            f"bench_runner: some tasks are not done; retry them with:\n"
            f"  bench_runner optimize --retry-failed {files.run_id} --results-dir {values['results_dir']}",
            err=True,
        )
        sys.exit(1)


def _placement(values: Mapping[str, Any]) -> dict[str, Any]:
    """``--engine``, ``--ray-address`` and ``--parallel`` given with ``--resume`` or ``--retry-failed``."""
    out: dict[str, Any] = {k: values[k] for k in ("engine", "parallel") if values[k] is not None}
    if values["ray_address"] is not None:
        out["engine_options"] = {"ray_address": values["ray_address"]}
    return out


@optimize.command(name="results")
@click.option("--list-runs", is_flag=True, help="every optimization run, newest first")
@click.option("--run-id", default=None, help="show this run's ranking")
@click.option("--detailed", is_flag=True, help="every task: budget use, history, best prompt")
@click.option("--raw", is_flag=True, help="the summary JSON")
@click.option("--watch", is_flag=True, help="refresh every 2 s until the run is done")
@click.option("--results-dir", default="benchmark_results", help="where runs are")
def results_command(
    list_runs: bool, run_id: str | None, detailed: bool, raw: bool, watch: bool, results_dir: str
) -> None:
    """Past optimization runs, or one run's results."""
    from bench_runner_optimizers import files as files_of
    from bench_runner_optimizers import results

    if list_runs:
        for run in results.list_runs(results_dir):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
            click.echo(f"{run['run_id']}  {run['tasks']} tasks  ({counts})")
        return
    if not run_id:
        raise BadInput("no run given", "pass --run-id ID or --list-runs")
    if detailed and raw:
        raise BadInput("--detailed and --raw exclude each other", "pass one of them")
    files = files_of.RunFiles(results_dir, run_id)
    stored, tasks = files.load()
    while True:
        summary = results.summarize(files, stored["manifest"], tasks)
        if raw:
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(results.format_table(summary))
            if detailed:
                click.echo("\n" + results.format_detailed(files))
        if not watch or all(s in ("done", "failed") for s in summary["tasks"].values()):
            return
        time.sleep(2.0)
        click.echo("")
