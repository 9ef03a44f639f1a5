"""A campaign start to end: expand the file, write the manifest, run what is due, report, say how to go on."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import click
import structlog

from bench_runner_core.interrupts import install_interrupt_handler
from bench_runner_core.kernel import Kernel
from bench_runner_core.plugins.campaigns import spec
from bench_runner_core.plugins.campaigns.manifest import (
    UNFINISHED,
    ManifestFile,
    RunEntry,
    TaskEntry,
    campaigns_root,
    new_manifest,
)
from bench_runner_core.plugins.campaigns.report import compare, table, write_report
from bench_runner_core.plugins.campaigns.scheduler import Scheduler
from bench_runner_core.plugins.campaigns.status import StatusBoard
from bench_runner_core.store import RunStore, new_run_id

log = structlog.get_logger()
#: the status board of the campaign this process drives; the plugin's run hooks feed it
BOARDS: list[StatusBoard] = []


def start(kernel: Kernel, file: str, overrides: spec.Overrides, verbose: int) -> int:
    """Check and expand ``file`` (nothing starts on a bad file), then run every task."""
    source, campaign = spec.load(file, kernel, overrides)
    manifest = new_manifest(file, source, campaign)
    base, n = manifest.id, 1
    while (campaigns_root(campaign.results_dir) / manifest.id).exists():  # started twice in one second
        n += 1
        manifest = attrs.evolve(manifest, id=f"{base}_{n}")
    folder = campaigns_root(campaign.results_dir) / manifest.id
    folder.mkdir(parents=True)
    live = ManifestFile(folder, manifest)
    live.save()
    log.info("campaign_started", campaign=manifest.id, tasks=len(manifest.tasks), folder=str(folder))
    return drive(kernel, live, list(manifest.runs()), verbose, campaign.parallel)


def resume(kernel: Kernel, live: ManifestFile, verbose: int, parallel: int | None) -> int:
    due = [(t, r) for t, r in live.manifest.runs() if r.status in UNFINISHED]
    if not due:
        click.echo(f"campaign {live.manifest.id}: nothing left to run", err=True)
    return drive(kernel, live, due, verbose, parallel or live.manifest.parallel)


def retry_failed(kernel: Kernel, live: ManifestFile, verbose: int, parallel: int | None) -> int:
    """Rerun the runs that failed for infrastructure reasons; a low score is never a failure."""
    store = RunStore(live.manifest.results_dir)
    due = []
    for task, entry in live.manifest.runs():
        if entry.status != "failed":
            continue
        if _complete(store, entry.run_id):
            # it finished, with samples the backend could not generate: a fresh run replaces it
            entry = live.update(
                task.index,
                entry.rollout,
                run_id=new_run_id(),
                replaced=(*entry.replaced, entry.run_id),
                status="pending",
            )
        due.append((task, entry))
    if not due:
        click.echo(f"campaign {live.manifest.id}: no failed runs", err=True)
    return drive(kernel, live, due, verbose, parallel or live.manifest.parallel)


def _complete(store: RunStore, run_id: str) -> bool:
    try:
        return bool(store.read_summary(run_id).get("complete")) if store.summary_path(run_id).exists() else False
    except Exception:
        return False


def drive(
    kernel: Kernel, live: ManifestFile, due: Sequence[tuple[TaskEntry, RunEntry]], verbose: int, parallel: int
) -> int:
    """Run ``due``, keep the manifest current, write the comparison; the exit status says how it ended."""
    manifest = live.manifest
    total = sum(len(t.runs) for t in manifest.tasks)
    board = StatusBoard(total_runs=total, finished_runs=total - len(due), verbose=verbose)
    scheduler = Scheduler(kernel, live, parallel, board)
    scheduler.prepare(due)
    interrupted: list[bool] = []

    def stop() -> None:
        interrupted.append(True)
        scheduler.stop()

    install_interrupt_handler(stop)
    progress = kernel.pm.get_plugin("progress")
    if progress is not None:  # one bar per run would tear the campaign's status apart
        kernel.pm.unregister(progress)
    _quiet_run_logs(verbose)
    BOARDS.append(board)
    live.set_state("running")
    try:
        scheduler.run()
    finally:
        BOARDS.remove(board)
        board.close()
        if progress is not None:
            kernel.pm.register(progress, name="progress")
    manifest = live.manifest
    statuses = [r.status for _, r in manifest.runs()]
    if interrupted:
        state = "interrupted"
    elif "failed" in statuses:
        state = "failed"
    else:
        state = "complete" if all(s == "done" for s in statuses) else "incomplete"
    live.set_state(state)
    comparison = compare(live.manifest)
    write_report(live.folder, comparison)
    kernel.pm.hook.bench_runner_campaign_compared(folder=str(live.folder))
    click.echo(table(comparison))
    where = f"{live.manifest.id} --results-dir {live.manifest.results_dir}"
    if interrupted or state == "incomplete":
        click.echo(
            f"bench_runner: campaign stopped early; finish it with:\n  bench_runner campaign resume {where}", err=True
        )
        return 130
    if state == "failed":
        failed = [f"{t.key} r{r.rollout}: {r.error}" for t, r in manifest.runs() if r.status == "failed"]
        click.echo(f"bench_runner: {len(failed)} runs failed:", err=True)
        for line in failed[:10]:
            click.echo(f"  {line}", err=True)
        click.echo(f"fix the cause, then rerun them with:\n  bench_runner campaign retry-failed {where}", err=True)
        return 1
    log.info("campaign_finished", campaign=live.manifest.id, folder=str(live.folder))
    return 0


def _quiet_run_logs(verbose: int) -> None:
    """Below ``-vv`` the runs' own info lines stay out of the way of the campaign's status."""
    if verbose >= 2:
        return
    processors = structlog.get_config()["processors"]
    if processors and getattr(processors[0], "__name__", "") == "_campaign_only":
        return

    def _campaign_only(logger: object, method: str, event: dict) -> dict:
        if method in ("debug", "info") and not str(event.get("event", "")).startswith("campaign_"):
            raise structlog.DropEvent
        return event

    structlog.configure(processors=[_campaign_only, *processors])


__all__ = ["BOARDS", "drive", "resume", "retry_failed", "start"]
