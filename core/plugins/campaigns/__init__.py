"""``bench_runner campaign``: many models, benchmarks, settings and rollouts from one reproducible file.

Every rollout of every task is an ordinary run of the run store; the campaign
adds a manifest beside them (``<results-dir>/campaigns/<name>/<timestamp>/``).
Registration only builds the click group; the work is imported inside the commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunInfo, SampleResult
from bench_runner_core.registry import CommandRegistrar

if TYPE_CHECKING:
    from bench_runner_core.kernel import Kernel

_RESULTS = click.option("--results-dir", default=None, help="where run files are  [default: ./benchmark_results]")
_VERBOSE = click.option("--verbose", "-v", count=True, help="-v progress lines per run, -vv also the runs' own logs")
_PARALLEL = click.option(
    "--parallel", type=click.IntRange(min=1), default=None, help="runs at once (overrides the file)"
)
_WHICH = [
    click.argument("campaign"),
    click.option("--id", "campaign_id", default=None, help="the campaign's timestamp folder (default: the latest)"),
    click.option("--latest", is_flag=True, help="the latest campaign of that name (the default)"),
]


def _which(fn: Any) -> Any:
    for decorate in reversed(_WHICH):
        fn = decorate(fn)
    return _RESULTS(fn)


def _live(campaign: str, campaign_id: str | None, results_dir: str | None) -> Any:
    from bench_runner_core.plugins.campaigns.manifest import ManifestFile, find, read_manifest

    folder = find(campaign, results_dir or "benchmark_results", campaign_id)
    return ManifestFile(folder, read_manifest(folder))


@click.group(name="campaign")
def campaign_group() -> None:
    """Many models x benchmarks x settings x rollouts from one TOML or JSON file."""


@campaign_group.command(name="run")
@click.argument("file", type=click.Path(dir_okay=False))
@_PARALLEL
@click.option("--test-mode/--no-test-mode", default=None, help="5 problems per task, for a quick check")
@click.option("--seed", type=int, default=None, help="base seed: rollout r uses seed + r")
@click.option("--models", default=None, help="a,b,c or 'all': run every task on these models instead")
@click.option("--models-file", default=None, help="a models.toml naming models (overrides the file's models_file)")
@_RESULTS
@_VERBOSE
@click.pass_obj
def run_campaign(kernel: Any, file: str, models: str | None, verbose: int, **flags: Any) -> None:
    """Run the campaign in FILE (checked whole against the schema first: nothing starts on an error)."""
    from bench_runner_core.plugins.campaigns import runner, spec

    chosen = tuple(m.strip() for m in models.split(",") if m.strip()) if models else None
    sys.exit(runner.start(kernel, file, spec.Overrides(models=chosen, **flags), verbose))


def _go_on_command(name: str, action: str, doc: str) -> click.Command:
    """``resume`` and ``retry-failed``: the same choice of campaign, then the runner's ``action``."""

    @campaign_group.command(name=name, help=doc)
    @_which
    @_PARALLEL
    @_VERBOSE
    @click.pass_obj
    def command(
        kernel: Any,
        campaign: str,
        campaign_id: str | None,
        latest: bool,
        results_dir: str | None,
        parallel: int | None,
        verbose: int,
    ) -> None:
        from bench_runner_core.plugins.campaigns import runner

        sys.exit(getattr(runner, action)(kernel, _live(campaign, campaign_id, results_dir), verbose, parallel))

    return command


resume_campaign = _go_on_command(
    "resume", "resume", "Finish what is unfinished (interrupted runs go on from their last checkpointed sample)."
)
retry_campaign = _go_on_command(
    "retry-failed",
    "retry_failed",
    "Rerun only the runs that failed for infrastructure reasons (server down, model missing, backend errors).",
)


@campaign_group.command(name="summarize")
@_which
@click.option("--json", "as_json", is_flag=True, help="print the comparison JSON")
@click.pass_obj
def summarize_campaign(
    kernel: Kernel, campaign: str, campaign_id: str | None, latest: bool, results_dir: str | None, as_json: bool
) -> None:
    """Compare the tasks (pass@1 with 95% CI, pass@k, speed, cost, rankings); writes comparison_report.json/.csv."""
    from bench_runner_core.convert import dumps
    from bench_runner_core.plugins.campaigns.report import compare, table, write_report

    live = _live(campaign, campaign_id, results_dir)
    comparison = compare(live.manifest)
    write_report(live.folder, comparison)
    kernel.pm.hook.bench_runner_campaign_compared(folder=str(live.folder))
    click.echo(dumps(comparison, indent=2) if as_json else table(comparison))


@campaign_group.command(name="list")
@_RESULTS
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
def list_campaigns(results_dir: str | None, as_json: bool) -> None:
    """Campaigns with their state, oldest first."""
    import json

    from bench_runner_core.plugins.campaigns.manifest import all_campaigns, read_manifest

    folders = all_campaigns(results_dir or "benchmark_results")
    if not folders:
        click.echo(f"no campaigns in {results_dir or 'benchmark_results'}", err=True)
    for folder in folders:
        m = read_manifest(folder)
        counts: dict[str, int] = {}
        for _, run in m.runs():
            counts[run.status] = counts.get(run.status, 0) + 1
        if as_json:
            click.echo(json.dumps({"id": m.id, "state": m.state, "folder": str(folder), "runs": counts}))
        else:
            runs = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            click.echo(f"{m.id}  {m.state}  {len(m.tasks)} tasks  runs: {runs}")


@campaign_group.command(name="eval")
@_which
@click.option("--workers", type=int, default=None, help="sandbox worker processes  [default: CPU count]")
@click.pass_obj
def eval_campaign(
    kernel: Any, campaign: str, campaign_id: str | None, latest: bool, results_dir: str | None, workers: int | None
) -> None:
    """Regrade every recorded completion with the graders installed now; report the verdicts that changed."""
    from bench_runner_core.plugins.campaigns.regrade import regrade, write_eval

    live = _live(campaign, campaign_id, results_dir)
    report = regrade(kernel, live.manifest, workers)
    path = write_eval(live.folder, report)
    for run in report.runs:
        moved = "" if run.passed_before == run.passed_after else "  (changed)"
        click.echo(
            f"{run.run_id}  {run.task}  passed {run.passed_before} -> {run.passed_after} of {run.samples}{moved}"
        )
    for change in report.changes:
        click.echo(f"  {change.run_id} {change.problem_id}#{change.sample_index}: {change.before} -> {change.after}")
    click.echo(f"{len(report.changes)} verdicts changed; details in {path}")


def _boards() -> list[Any]:
    if "bench_runner_core.plugins.campaigns.runner" not in sys.modules:
        return []
    return sys.modules["bench_runner_core.plugins.campaigns.runner"].BOARDS


@hookimpl
def bench_runner_run_started(run: RunInfo) -> None:
    for board in _boards():
        board.run_started(run)


@hookimpl
def bench_runner_sample_finished(run: RunInfo, sample: SampleResult) -> None:
    for board in _boards():
        board.sample(run, sample)


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(campaign_group)
