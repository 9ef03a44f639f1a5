"""The ``list`` and ``show`` commands: past runs from the results folder."""

from __future__ import annotations

import json

import click

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.registry import CommandRegistrar
from bench_runner_core.store import RunStore


@click.command(name="list")
@click.option("--results-dir", default="benchmark_results", help="where run files are")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
def list_runs(results_dir: str, as_json: bool) -> None:
    """Past runs, newest first."""
    for summary in RunStore(results_dir).summaries():
        if as_json:
            click.echo(
                json.dumps({k: summary.get(k) for k in ("run_id", "start_time", "config", "summary", "complete")})
            )
            continue
        config, s = summary.get("config", {}), summary.get("summary", {})
        score = s.get("pass_at_k", {}).get("pass@1")
        mark = "" if summary.get("complete", True) else "  (incomplete)"
        click.echo(
            f"{summary.get('run_id')}  {config.get('benchmark')}  {config.get('model') or config.get('backend')}  "
            f"pass@1={'-' if score is None else f'{score:.4f}'}  samples={s.get('total_samples')}{mark}"
        )


@click.command(name="show")
@click.argument("run_id")
@click.option("--results-dir", default="benchmark_results", help="where run files are")
def show_run(run_id: str, results_dir: str) -> None:
    """Print one run's summary JSON."""
    store = RunStore(results_dir)
    if not store.summary_path(run_id).exists():
        store.load_config(run_id)  # says whether the id is malformed or unknown
    click.echo(json.dumps(store.read_summary(run_id), indent=2))


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(list_runs)
    register(show_run)
