"""The run form of ``bench_runner`` (``bench_runner --benchmark ...``): flags in, one run, scores out."""

from __future__ import annotations

import sys
from typing import Any

import click
import structlog

from bench_runner_core.config import read_config_file
from bench_runner_core.convert import dumps
from bench_runner_core.interrupts import install_interrupt_handler
from bench_runner_core.kernel import Kernel
from bench_runner_core.records import RunSummary

_NOT_CONFIG = {"config", "resume", "export", "as_json", "verbose", "log_json", "disable_plugin"}


def run_command(ctx: click.Context, kernel: Kernel, values: dict[str, Any]) -> None:
    """Start (or ``--resume``) one run from the parsed flags and print its scores."""
    log = structlog.get_logger()
    flags = {k: v for k, v in values.items() if k not in _NOT_CONFIG and v not in (None, ())}
    if values["resume"]:
        ignored = sorted(k for k in flags if k != "results_dir")
        if ignored or values["config"]:
            log.warning("resume_ignores_options", options=ignored + (["config"] if values["config"] else []))
        run = kernel.resume_run(values["resume"], values.get("results_dir") or "benchmark_results")
    else:
        if not flags.get("benchmark") and not values["config"]:
            click.echo(ctx.get_help())
            return
        settings = read_config_file(values["config"]) if values["config"] else {}
        settings.update(flags)
        run = kernel.new_run(kernel.config(settings, source=values["config"] or "the command line"))
    run.export = values["export"]
    structlog.contextvars.bind_contextvars(run_id=run.run_id)
    install_interrupt_handler(run.stop)
    summary = run.execute()
    if values["as_json"]:
        click.echo(dumps(summary, indent=2))
    else:
        click.echo(_score_lines(summary))
    if not summary.complete:
        log.warning("run_interrupted", done=summary.summary.total_samples)
        click.echo(
            f"bench_runner: run {run.run_id} stopped early; finish it with:\n"
            f"  bench_runner --resume {run.run_id} --results-dir {run.config.results_dir}",
            err=True,
        )
        sys.exit(130)


def _score_lines(summary: RunSummary) -> str:
    s = summary.summary
    model = summary.metadata.get("backend", {}).get("model_name") or summary.config.model or summary.config.backend
    lines = [f"{summary.config.benchmark}  model={model}  run={summary.run_id}"]
    scores = "  ".join(f"{k}={v:.4f}" for k, v in s.pass_at_k.items())
    lines.append(
        f"  {scores}  ({s.total_problems} problems, {s.total_samples} samples, {summary.duration_seconds:.1f}s)"
    )
    for track, values in s.tracks.items():
        lines.append(f"  {track}: " + "  ".join(f"{k}={v:.4f}" for k, v in values.items()))
    for facet, groups in s.breakdowns.items():
        lines.append(f"  by {facet}: " + "  ".join(f"{g}={v:.3f}" for g, v in groups.items()))
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(s.statuses.items()))
    lines.append(f"  verdicts: {statuses}")
    return "\n".join(lines)


__all__ = ["run_command"]
