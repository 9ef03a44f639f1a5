"""The ``list`` and ``show`` commands: past runs from the results folder.

They read the results database (``<results-dir>/results.sqlite``), brought up to date with the run
files first. With the ``results`` plugin disabled they leave the folder alone and index the files
in memory instead.
"""

from __future__ import annotations

import json

import click

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.kernel import Kernel
from bench_runner_core.plugins.results.commands import filter_options, results_dir_option, run_filter
from bench_runner_core.registry import CommandRegistrar
from bench_runner_core.store import RunStore


def _in_memory(kernel: Kernel) -> bool:
    return kernel.pm.get_plugin("results") is None


@click.command(name="list")
@results_dir_option
@filter_options
@click.option("--limit", type=click.IntRange(1), help="only the newest N runs")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
@click.pass_obj
def list_runs(
    kernel: Kernel,
    results_dir: str,
    benchmarks: tuple[str, ...],
    models: tuple[str, ...],
    since: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Past runs, newest first."""
    from bench_runner_core.plugins.results.queries import list_records

    chosen = run_filter(benchmarks, models, since)
    for record in list_records(results_dir, chosen, limit=limit, in_memory=_in_memory(kernel)):
        if as_json:
            click.echo(json.dumps(record))
            continue
        config, s = record["config"], record["summary"]
        score = s.get("pass_at_k", {}).get("pass@1")
        mark = "" if record["complete"] else "  (incomplete)"
        click.echo(
            f"{record['run_id']}  {config.get('benchmark')}  {config.get('model') or config.get('backend')}  "
            f"pass@1={'-' if score is None else f'{score:.4f}'}  samples={s.get('total_samples')}{mark}"
        )


@click.command(name="show")
@click.argument("run_id")
@results_dir_option
@click.pass_obj
def show_run(kernel: Kernel, run_id: str, results_dir: str) -> None:
    """Print one run's summary JSON (a unique start of the run id is enough)."""
    from bench_runner_core.plugins.results.queries import resolve_run_id

    store = RunStore(results_dir)
    if not store.summary_path(run_id).exists():
        run_id = resolve_run_id(results_dir, run_id, in_memory=_in_memory(kernel))
    if not store.summary_path(run_id).exists():
        store.load_config(run_id)  # says whether the id is malformed or unknown
    click.echo(json.dumps(store.read_summary(run_id), indent=2))


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(list_runs)
    register(show_run)
