"""The files and records of one optimization run, under ``<results-dir>/``.

- ``<run_id>/run.json``: the manifest and its expanded tasks (what ``--resume`` reloads);
- ``<run_id>/checkpoint.json``: every task's status (see ``STATUSES``);
- ``<run_id>/cache.jsonl``: every model reply, keyed by what determines it;
- ``<run_id>/tasks/<task_id>.json``: one finished task's result (``TaskResult``);
- ``<run_id>.json``: the run summary, with the table ranking optimizers and every task's record,
  rewritten as each task finishes (then ``bench_runner_optimization_finished`` is called, and the
  results plugin indexes the run in the results database).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from bench_runner import BadInput
from bench_runner_core.convert import structure, unstructure, write_json_atomic
from bench_runner_core.store import now_iso
from bench_runner_optimizers.harness import Candidate
from bench_runner_optimizers.manifest import TaskSpec
from bench_runner_optimizers.rollouts import Usage
from bench_runner_optimizers.stats import Interval

SCHEMA_VERSION = 1
#: "running" stays after a kill (-9, a crash); Ctrl-C turns the tasks it stopped into "interrupted"
STATUSES = ("pending", "running", "interrupted", "done", "failed")
#: what ``--resume`` runs again
UNFINISHED = ("pending", "running", "interrupted")
RUN_ID = re.compile(r"opt_[0-9a-f]{8}_\d{8}_\d{6}")


def new_run_id() -> str:
    return f"opt_{secrets.token_hex(4)}_{datetime.now(UTC):%Y%m%d_%H%M%S}"


@attrs.frozen(kw_only=True)
class TaskResult:
    """A finished optimization: ``tasks/<task_id>.json``."""

    task: TaskSpec
    status: str
    stop_reason: str
    splits: Mapping[str, int]
    metric: str
    baseline: Candidate
    best: Candidate
    baseline_validation: float | None
    best_validation: float | None
    baseline_test: Interval
    optimized_test: Interval
    gain: Interval
    #: per test item: [baseline score, optimized score]
    test_scores: Mapping[str, tuple[float, float]]
    trials: int
    rollouts: int
    proposer_tokens: int
    usage: Mapping[str, Usage]
    test_usage: Usage
    cost: float
    duration_s: float
    history: tuple[Mapping[str, Any], ...]
    error: str = ""
    #: what the task model's backend reported when it started (model name, quantization, ray_generators, ...)
    backend: Mapping[str, Any] = attrs.field(factory=dict)
    #: a code dataset's sandbox protections; on a cluster, per grading node under ``nodes``
    sandbox: Mapping[str, Any] = attrs.field(factory=dict)
    schema_version: int = SCHEMA_VERSION


class RunFiles:
    """The files of one optimization run."""

    def __init__(self, results_dir: str | Path, run_id: str) -> None:
        self.root = Path(results_dir)
        self.run_id = run_id
        self.dir = self.root / run_id

    @property
    def summary(self) -> Path:
        return self.root / f"{self.run_id}.json"

    def create(self, manifest: Mapping[str, Any], tasks: Sequence[TaskSpec]) -> None:
        self.dir.mkdir(parents=True, exist_ok=False)
        write_json_atomic(
            self.dir / "run.json",
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": self.run_id,
                "start_time": now_iso(),
                "manifest": dict(manifest),
                "tasks": [unstructure(t) for t in tasks],
            },
        )
        self.write_checkpoint({t.id: {"status": "pending"} for t in tasks})

    def load(self) -> tuple[dict[str, Any], list[TaskSpec]]:
        if not RUN_ID.fullmatch(self.run_id):
            raise BadInput(
                f"{self.run_id!r} is not an optimization run id", "see `bench_runner optimize results --list-runs`"
            )
        try:
            data = json.loads((self.dir / "run.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(
                f"no optimization run {self.run_id} in {self.root}",
                "check the id with `bench_runner optimize results --list-runs`, or pass its --results-dir",
            ) from None
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot read {self.dir / 'run.json'}: {exc}", "start a new run") from None
        tasks = [structure(t, TaskSpec, what=str(self.dir / "run.json")) for t in data["tasks"]]
        return data, tasks

    def checkpoint(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads((self.dir / "checkpoint.json").read_text(encoding="utf-8"))["tasks"]
        except (OSError, ValueError, KeyError):
            return {}

    def write_checkpoint(self, tasks: Mapping[str, Mapping[str, Any]]) -> None:
        write_json_atomic(
            self.dir / "checkpoint.json",
            {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, "updated": now_iso(), "tasks": dict(tasks)},
        )

    def start_time(self) -> str | None:
        try:
            return json.loads((self.dir / "run.json").read_text(encoding="utf-8")).get("start_time")
        except (OSError, ValueError):
            return None

    def task_path(self, task_id: str) -> Path:
        return self.dir / "tasks" / f"{task_id}.json"

    def results(self) -> list[dict[str, Any]]:
        folder = self.dir / "tasks"
        return (
            [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
            if folder.is_dir()
            else []
        )
