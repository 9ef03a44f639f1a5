"""Campaigns as the results commands see them: a manifest that names ordinary runs.

A campaign writes ``<results-dir>/campaigns/<name>/<timestamp>/manifest.json``. These commands only
need its run ids, so any JSON value in the manifest that is a run id counts, in the order it appears.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from bench_runner_core.api import BadInput
from bench_runner_core.store import RUN_ID

MANIFEST = "manifest.json"

log = structlog.get_logger()


def manifest_path(campaign: str, results_dir: str | os.PathLike[str]) -> Path:
    """The manifest of ``campaign``: a manifest file, its folder, ``NAME/TIMESTAMP`` or ``NAME`` (the latest)."""
    given = Path(campaign)
    root = Path(results_dir) / "campaigns"
    for candidate in (given, root / campaign):
        if candidate.is_file():
            return candidate
        if (candidate / MANIFEST).is_file():
            return candidate / MANIFEST
        if candidate.is_dir():
            stamps = sorted(p for p in candidate.iterdir() if (p / MANIFEST).is_file())
            if stamps:
                return stamps[-1] / MANIFEST
    raise BadInput(
        f"no campaign {campaign!r} (looked for {MANIFEST} in {given} and {root / campaign})",
        "pass a campaign folder, its manifest.json, or NAME[/TIMESTAMP] under <results-dir>/campaigns",
    )


def campaign_runs(campaign: str, results_dir: str | os.PathLike[str]) -> tuple[Path, Path, list[str]]:
    """The manifest, the results dir its runs are in, and the run ids it names that have a summary.

    Runs not started yet (no summary file) are left out with a warning; runs a retry replaced are
    never counted (the manifest lists them under ``replaced``).
    """
    path = manifest_path(campaign, results_dir)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read campaign manifest {path} ({exc})", "check the campaign folder") from None
    root = campaign_results_dir(path, results_dir)
    named = list(dict.fromkeys(_run_ids(manifest)))
    runs = [run_id for run_id in named if (root / f"{run_id}.json").is_file()]
    if len(runs) < len(named):
        log.warning("campaign_runs_without_summary", campaign=str(path.parent), missing=len(named) - len(runs))
    if not runs:
        raise BadInput(f"campaign manifest {path} names no finished run", "run the campaign first")
    return path, root, runs


def _run_ids(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if RUN_ID.match(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "replaced":
                yield from _run_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _run_ids(item)


def campaign_results_dir(manifest: Path, default: str | os.PathLike[str]) -> Path:
    """The results dir a manifest sits in (``<dir>/campaigns/<name>/<timestamp>/``), else ``default``."""
    parents = manifest.resolve().parents
    return parents[3] if len(parents) > 3 and parents[2].name == "campaigns" else Path(default)
