"""``manifest.json``: the campaign as given, its tasks and every run's state, rewritten atomically on each change."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import attrs

from bench_runner_core.api import BadInput
from bench_runner_core.convert import structure, unstructure, write_json_atomic
from bench_runner_core.plugins.campaigns.spec import Campaign, Task
from bench_runner_core.records import SCHEMA_VERSION
from bench_runner_core.store import new_run_id

MANIFEST = "manifest.json"
RunStatus = Literal["pending", "running", "done", "failed", "timed_out", "interrupted"]
#: what ``campaign resume`` picks up; ``failed`` waits for ``retry-failed``
UNFINISHED = ("pending", "running", "timed_out", "interrupted")


@attrs.frozen(kw_only=True)
class RunEntry:
    """One rollout of a task: an ordinary run of the run store."""

    rollout: int
    seed: int
    run_id: str
    status: RunStatus = "pending"
    #: 0 done, 1 crashed, 2 bad input or a backend that gave up, 124 timed out, 130 interrupted
    exit_status: int | None = None
    error: str | None = None
    #: runs this rollout replaced (``retry-failed`` of a run that finished with generation errors)
    replaced: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TaskEntry:
    index: int
    key: str
    source: str
    benchmark: str
    model: str | None
    display: str
    label: str
    settings: Mapping[str, Any]
    timeout: float | None
    runs: tuple[RunEntry, ...]

    @property
    def status(self) -> str:
        states = {r.status for r in self.runs}
        for state in ("running", "failed", "timed_out", "interrupted", "pending"):
            if state in states:
                return state
        return "done"


@attrs.frozen(kw_only=True)
class Manifest:
    name: str
    id: str
    created: str
    file: str
    source: Mapping[str, Any]
    results_dir: str
    parallel: int
    seed: int
    test_mode: bool
    tasks: tuple[TaskEntry, ...]
    state: str = "pending"
    schema_version: int = SCHEMA_VERSION

    def runs(self) -> Iterator[tuple[TaskEntry, RunEntry]]:
        for task in self.tasks:
            for run in task.runs:
                yield task, run


def new_manifest(file: str, source: Mapping[str, Any], campaign: Campaign) -> Manifest:
    now = datetime.now(UTC)
    stamp = f"{now:%Y%m%d_%H%M%S}"
    return Manifest(
        name=campaign.name,
        id=f"{campaign.name}/{stamp}",
        created=now.isoformat(timespec="seconds"),
        file=str(file),
        source=source,
        results_dir=campaign.results_dir,
        parallel=campaign.parallel,
        seed=campaign.seed,
        test_mode=campaign.test_mode,
        tasks=tuple(_task_entry(t, campaign.seed) for t in campaign.tasks),
    )


def _task_entry(task: Task, seed: int) -> TaskEntry:
    # run ids are fixed up front: a run killed before its first checkpoint restarts under the same id
    base = int(task.settings.get("seed", seed))  # a task's own seed wins over the campaign's
    return TaskEntry(
        index=task.index,
        key=task.key,
        source=task.source,
        benchmark=task.benchmark,
        model=task.model,
        display=task.display,
        label=task.label,
        settings=dict(task.settings),
        timeout=task.timeout,
        runs=tuple(RunEntry(rollout=r, seed=base + r, run_id=new_run_id()) for r in range(task.rollouts)),
    )


class ManifestFile:
    """The live manifest: every change goes through ``update`` and lands on disk before it returns."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST

    def save(self) -> None:
        write_json_atomic(self.path, unstructure(self.manifest))

    def set_state(self, state: str) -> None:
        with self._lock:
            self.manifest = attrs.evolve(self.manifest, state=state)
            self.save()

    def update(self, task_index: int, rollout: int, **changes: Any) -> RunEntry:
        with self._lock:
            tasks = list(self.manifest.tasks)
            task = tasks[task_index]
            runs = list(task.runs)
            runs[rollout] = attrs.evolve(runs[rollout], **changes)
            tasks[task_index] = attrs.evolve(task, runs=tuple(runs))
            self.manifest = attrs.evolve(self.manifest, tasks=tuple(tasks))
            self.save()
            return runs[rollout]


def campaigns_root(results_dir: str) -> Path:
    return Path(results_dir) / "campaigns"


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"no campaign manifest at {path}", "see `bench_runner campaign list`") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {path} ({exc})", "restore it from a backup or start the campaign again") from None
    return structure(data, Manifest, what=str(path))


def find(ref: str, results_dir: str, campaign_id: str | None = None) -> Path:
    """The folder of a campaign: ``NAME`` (latest, or ``--id``), ``NAME/TIMESTAMP``, or a folder path."""
    as_path = Path(ref)
    if (as_path / MANIFEST).exists():
        return as_path
    root = campaigns_root(results_dir)
    if campaign_id:
        ref = f"{ref.split('/')[0]}/{campaign_id.split('/')[-1]}"
    if "/" in ref:
        folder = root / ref
        if not (folder / MANIFEST).exists():
            raise BadInput(f"no campaign {ref} in {root}", "see `bench_runner campaign list` (or pass --results-dir)")
        return folder
    runs = sorted(p.parent for p in (root / ref).glob(f"*/{MANIFEST}"))
    if not runs:
        raise BadInput(
            f"no campaign named {ref!r} in {root}", "see `bench_runner campaign list` (or pass --results-dir)"
        )
    return runs[-1]


def all_campaigns(results_dir: str) -> list[Path]:
    return sorted(p.parent for p in campaigns_root(results_dir).glob(f"*/*/{MANIFEST}"))


__all__ = ["UNFINISHED", "Manifest", "ManifestFile", "RunEntry", "TaskEntry", "find", "new_manifest", "read_manifest"]
