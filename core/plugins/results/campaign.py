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

from bench_runner_core.api import BadInput
from bench_runner_core.store import RUN_ID

MANIFEST = "manifest.json"


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


def campaign_runs(campaign: str, results_dir: str | os.PathLike[str]) -> tuple[Path, list[str]]:
    """The manifest's path and the run ids it names, first appearance first."""
    path = manifest_path(campaign, results_dir)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read campaign manifest {path} ({exc})", "check the campaign folder") from None
    runs = list(dict.fromkeys(_run_ids(manifest)))
    if not runs:
        raise BadInput(f"campaign manifest {path} names no runs", "run the campaign first")
    return path, runs


def _run_ids(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if RUN_ID.match(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _run_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _run_ids(item)


def campaign_results_dir(manifest: Path, default: str | os.PathLike[str]) -> Path:
    """The results dir a manifest sits in (``<dir>/campaigns/<name>/<timestamp>/``), else ``default``."""
    parents = manifest.resolve().parents
    return parents[3] if len(parents) > 3 and parents[2].name == "campaigns" else Path(default)
