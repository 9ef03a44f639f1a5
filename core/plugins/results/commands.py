"""The results commands: ``db``, ``compare``, ``problems``, ``export``, ``report``.

Defining them is cheap; each imports what it needs when it runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

RESULTS_DIR = "benchmark_results"


def results_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--results-dir", default=RESULTS_DIR, show_default=True, help="where run files are")(f)


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--benchmark``, ``--model``, ``--since``: which runs to look at."""
    f = click.option("--since", help="runs started on or after this date, timestamp or age (7d, 12h, 2w)")(f)
    f = click.option("--model", "models", multiple=True, help="runs whose model name or path contains this")(f)
    f = click.option("--benchmark", "benchmarks", multiple=True, help="runs of this benchmark (repeatable)")(f)
    return f


def run_filter(benchmarks: Sequence[str], models: Sequence[str], since: str | None, **extra: Any):  # type: ignore[no-untyped-def]
    from .queries import RunFilter

    return RunFilter(benchmarks=tuple(benchmarks), models=tuple(models), since=since, **extra)


def resolve_runs(run_ids: Sequence[str], campaign: str | None, results_dir: str) -> tuple[str, list[str]]:
    """The results dir and run ids named on the command line, or by a campaign manifest."""
    from bench_runner_core.api import BadInput

    from .campaign import campaign_runs

    if campaign:
        if run_ids:
            raise BadInput("pass run ids or --campaign, not both", "drop one of them")
        _, root, runs = campaign_runs(campaign, results_dir)
        return str(root), runs
    return results_dir, list(run_ids)


@click.group(name="db")
def db_group() -> None:
    """The results database (<results-dir>/results.sqlite), an index of the JSON run files."""


@db_group.command(name="rebuild")
@results_dir_option
def db_rebuild(results_dir: str) -> None:
    """Recreate the database from the JSON run files."""
    from . import db

    conn = db.rebuild(results_dir)
    runs, samples, tasks = conn.execute(
        "SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM samples), (SELECT COUNT(*) FROM optimizations)"
    ).fetchone()
    click.echo(f"{Path(results_dir) / db.DB_NAME}: {runs} runs, {samples} sample attempts, {tasks} optimizations")


@db_group.command(name="path")
@results_dir_option
def db_path(results_dir: str) -> None:
    """Bring the database up to date and print its path (for sqlite3, Datasette, ...)."""
    from . import db

    db.open_db(results_dir).close()
    click.echo(Path(results_dir) / db.DB_NAME)


@click.command(name="compare")
@click.argument("runs", nargs=-1)
@click.option("--campaign", help="compare the runs of this campaign (folder, manifest, or NAME[/TIMESTAMP])")
@results_dir_option
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
@click.option("--fail-if-worse", is_flag=True, help="exit 1 when a run is significantly worse than the first")
@click.option("--max-drop", type=click.FloatRange(0, 1), default=0.0, help="with --fail-if-worse: allowed drop")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True)
@click.option("--resamples", type=click.IntRange(100, 1_000_000), default=10_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="bootstrap seed")
def compare_command(
    runs: tuple[str, ...],
    campaign: str | None,
    results_dir: str,
    as_json: bool,
    fail_if_worse: bool,
    max_drop: float,
    confidence: float,
    resamples: int,
    seed: int,
) -> None:
    """pass@1 of RUNS with confidence intervals, and each run against the first (BASE NEW ...)."""
    from bench_runner_core.convert import unstructure

    from . import compare, db

    results_dir, run_ids = resolve_runs(runs, campaign, results_dir)
    conn = db.open_db(results_dir)
    result = compare.compare(conn, run_ids, resamples=resamples, confidence=confidence, seed=seed)
    gates = [(d, compare.gate(d, max_drop)) for d in result.differences]
    if as_json:
        data = unstructure(result)
        if fail_if_worse:
            data["gate"] = {"max_drop": max_drop, "worse": [d.new for d, worse in gates if worse]}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(compare.render(result))
    if fail_if_worse:
        prefix = "::error::" if os.environ.get("GITHUB_ACTIONS") == "true" else ""
        for difference, worse in gates:
            line = compare.gate_line(result, difference, max_drop)
            click.echo((prefix if worse else "") + line, err=as_json)
        if any(worse for _, worse in gates):
            sys.exit(1)


@click.command(name="problems")
@results_dir_option
@filter_options
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="how many hardest and easiest")
@click.option("--json", "as_json", is_flag=True, help="print every problem as JSON lines")
def problems_command(
    results_dir: str, benchmarks: tuple[str, ...], models: tuple[str, ...], since: str | None, top: int, as_json: bool
) -> None:
    """Each problem's solve rate across complete runs: the hardest, the easiest, the ones no model solves."""
    from . import db, queries

    conn = db.open_db(results_dir)
    rates = queries.solve_rates(conn, run_filter(benchmarks, models, since, complete_only=True))
    if as_json:
        for p in rates:
            click.echo(
                json.dumps(
                    {
                        "benchmark": p.benchmark,
                        "problem_id": p.problem_id,
                        "solve_rate": p.rate,
                        "runs": p.runs,
                        "models": p.models,
                        "solved_by_models": p.solved_by,
                        "samples": p.samples,
                        "passed": p.passed,
                        "attributes": p.attributes,
                    }
                )
            )
        return
    by_benchmark: dict[str, list[queries.ProblemRate]] = {}
    for p in rates:
        by_benchmark.setdefault(p.benchmark, []).append(p)
    if not by_benchmark:
        click.echo("no complete runs match")
    for benchmark, mine in sorted(by_benchmark.items()):
        runs = max(p.runs for p in mine)
        models = max(p.models for p in mine)
        click.echo(f"{benchmark}: {len(mine)} problems, up to {runs} runs of {models} models")
        click.echo(f"  hardest: {_rates(mine[:top])}")
        click.echo(f"  easiest: {_rates(list(reversed(mine[-top:])))}")
        never = [p.problem_id for p in mine if p.passed == 0]
        click.echo(f"  solved by no model ({len(never)}): {', '.join(never) or '-'}")


def _rates(rates: Sequence[Any]) -> str:
    return ", ".join(f"{p.problem_id} {p.rate:.2f}" for p in rates) or "-"


@click.command(name="export")
@click.argument("what", type=click.Choice(["runs", "samples", "optimizations"]))
@results_dir_option
@filter_options
@click.option("--run", "run_ids", multiple=True, help="only this run (repeatable; instead of the filters)")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="default: from -o's suffix, else csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="file to write (default stdout)")
def export_command(
    what: str,
    results_dir: str,
    benchmarks: tuple[str, ...],
    models: tuple[str, ...],
    since: str | None,
    run_ids: tuple[str, ...],
    fmt: str | None,
    output: str | None,
) -> None:
    """Runs (one row each), samples (one row per attempt) or optimization tasks (one row each) as CSV or JSONL.

    For optimizations, --benchmark picks datasets and --model task models."""
    from . import db, export

    fmt = fmt or ("jsonl" if output and output.endswith((".jsonl", ".json")) else "csv")
    conn = db.open_db(results_dir)
    rows = export.export_rows(conn, what, run_filter(benchmarks, models, since), run_ids)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            count = export.write(rows, f, fmt)
        click.echo(f"wrote {count} {what} to {output}", err=True)
    else:
        export.write(rows, click.get_text_stream("stdout"), fmt)


@click.command(name="report")
@click.argument("runs", nargs=-1)
@click.option("--campaign", help="report on the runs of this campaign")
@click.option("--all", "every", is_flag=True, help="report on every run that matches the filters")
@results_dir_option
@filter_options
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--title", help="the page title")
def report_command(
    runs: tuple[str, ...],
    campaign: str | None,
    every: bool,
    results_dir: str,
    benchmarks: tuple[str, ...],
    models: tuple[str, ...],
    since: str | None,
    output: str,
    title: str | None,
) -> None:
    """One self-contained HTML file: charts, a per-problem table, run metadata. Works offline."""
    from bench_runner_core.api import BadInput

    from . import db, queries, report

    if sum(map(bool, (runs, campaign, every))) != 1:
        raise BadInput("report needs run ids, --campaign or --all (one of them)", "for example: report --all")
    from . import optimization_view
    from .optimizations import PREFIX

    results_dir, run_ids = resolve_runs(runs, campaign, results_dir)
    conn = db.open_db(results_dir)
    # optimization runs (opt_...) get a table of their tasks
    optimization_ids = [r for r in run_ids if r.startswith(PREFIX)]
    run_ids = [r for r in run_ids if not r.startswith(PREFIX)]
    if every:
        run_ids = [r["run_id"] for r in queries.find_runs(conn, run_filter(benchmarks, models, since))]
        optimization_ids = [] if benchmarks else optimization_view.run_ids(conn, since)
        if not run_ids and not optimization_ids:
            raise BadInput(f"no runs in {results_dir} match", "check --results-dir and the filters")
    path = report.write_report(
        conn,
        run_ids,
        output,
        title=title or (f"campaign {campaign}" if campaign else None),
        optimization_ids=optimization_ids,
    )
    counted = f"{len(run_ids)} runs" + (f", {len(optimization_ids)} optimization runs" if optimization_ids else "")
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {counted})")


@click.command(name="optimizations")
@results_dir_option
@click.option("--run", "run_ids", multiple=True, help="only this optimization run (a unique start of its id)")
@click.option("--dataset", "datasets", multiple=True, help="only this dataset (repeatable)")
@click.option("--optimizer", "optimizers", multiple=True, help="only this optimizer (repeatable)")
@click.option("--model", "models", multiple=True, help="task models whose name contains this")
@click.option("--since", help="runs started on or after this date, timestamp or age (7d, 12h, 2w)")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, with the best prompt and the history")
def optimizations_command(
    results_dir: str,
    run_ids: tuple[str, ...],
    datasets: tuple[str, ...],
    optimizers: tuple[str, ...],
    models: tuple[str, ...],
    since: str | None,
    as_json: bool,
) -> None:
    """The tasks of optimization runs (`bench_runner optimize`): test scores with 95% intervals, budget, stop."""
    from . import db, optimization_view

    chosen = optimization_view.OptimizationFilter(
        run_ids=run_ids, datasets=datasets, optimizers=optimizers, models=models, since=since
    )
    conn = db.open_db(results_dir)
    try:
        rows = optimization_view.find(conn, chosen)
    finally:
        conn.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps({k: v for k, v in row.items() if not k.startswith("source_")}))
    else:
        click.echo(optimization_view.render(rows))


COMMANDS = (db_group, compare_command, problems_command, export_command, report_command, optimizations_command)
