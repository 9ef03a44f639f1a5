"""The run store on disk: run ids, the per-sample checkpoint, run summaries, the history file."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from bench_runner_core.api import BadInput
from bench_runner_core.convert import structure, unstructure, write_json_atomic
from bench_runner_core.records import SCHEMA_VERSION, RunConfig, RunSummary, SampleResult

RUN_ID = re.compile(r"^bench_[0-9a-f]{8}_\d{8}_\d{6}$")
CHECKPOINT = "samples.jsonl"
CONFIG = "run.json"


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"bench_{secrets.token_hex(4)}_{now:%Y%m%d_%H%M%S}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunStore:
    """A results directory: ``<run_id>/`` (config + checkpoint) and ``<run_id>.json`` (summary)."""

    def __init__(self, results_dir: str | os.PathLike[str]) -> None:
        self.root = Path(results_dir)

    def ensure_writable(self) -> None:
        _ensure_writable_dir(
            self.root, f"results dir {str(self.root)!r}", "pass --results-dir with a folder you can write to"
        )

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def summary_path(self, run_id: str) -> Path:
        return self.root / f"{run_id}.json"

    # --- a run's own files -------------------------------------------------

    def create(self, run_id: str, config: RunConfig, start_time: str) -> Path:
        folder = self.run_dir(run_id)
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            if (folder / CONFIG).exists():
                raise
            # a session killed while it created this run left the folder and nothing in it
        write_json_atomic(
            folder / CONFIG,
            {
                "schema_version": SCHEMA_VERSION,
                "run_id": run_id,
                "start_time": start_time,
                "config": unstructure(config),
            },
        )
        return folder

    def load_config(self, run_id: str) -> tuple[RunConfig, str]:
        if not RUN_ID.match(run_id):
            raise BadInput(
                f"{run_id!r} is not a run id",
                "run ids look like bench_1a2b3c4d_20260101_120000 (see `bench_runner list`)",
            )
        path = self.run_dir(run_id) / CONFIG
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(
                f"no run {run_id} in {self.root}", "check the id with `bench_runner list` or pass its --results-dir"
            ) from None
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot read {path}: {exc}", "the run cannot be resumed; start a new one") from None
        return structure(data.get("config"), RunConfig, what=str(path)), data.get("start_time", "")

    def append_sample(self, run_id: str, sample: SampleResult, *, sync: bool = True) -> None:
        """Append one sample (finished, or between attempts): this line is the checkpoint.

        The line is written at once, so it outlives a crash of this process; ``sync``
        also fsyncs it (and every line before it), so it outlives a power cut.
        """
        line = json.dumps({"schema_version": SCHEMA_VERSION, **unstructure(sample)}, ensure_ascii=False, allow_nan=True)
        fd = os.open(self.run_dir(run_id) / CHECKPOINT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def sync_samples(self, run_id: str) -> None:
        """fsync the checkpoint: every line appended so far is on disk."""
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(self.run_dir(run_id) / CHECKPOINT, os.O_WRONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_samples(self, run_id: str) -> list[SampleResult]:
        """Every finished sample of the checkpoint."""
        return [s for s in self.read_checkpoint(run_id) if s.complete]

    def read_checkpoint(self, run_id: str) -> list[SampleResult]:
        """The latest line of every sample: finished ones, and unfinished ones (``complete=False``) holding
        the attempts made so far. A torn last line (a crash mid-write) is dropped."""
        path = self.run_dir(run_id) / CHECKPOINT
        if not path.exists():
            return []
        samples: dict[tuple[str, int], SampleResult] = {}
        lines = path.read_bytes().split(b"\n")
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                if number == len(lines):  # only a last line without its newline may be torn
                    self._truncate_torn_tail(path, raw)
                    break
                raise BadInput(
                    f"{path} line {number} is not JSON", "the checkpoint is corrupt; start a new run"
                ) from None
            data.pop("schema_version", None)
            sample = structure(data, SampleResult, what=f"{path} line {number}")
            # lines come in the order they were made: a later line of a sample supersedes its earlier ones
            samples[(sample.problem_id, sample.sample_index)] = sample
        else:
            if lines[-1]:  # a whole record whose newline was lost: end the line before appending more
                with open(path, "ab") as f:
                    f.write(b"\n")
        return list(samples.values())

    @staticmethod
    def _truncate_torn_tail(path: Path, torn: bytes) -> None:
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.truncate(size - len(torn))

    def write_summary(self, summary: RunSummary) -> Path:
        path = self.summary_path(summary.run_id)
        write_json_atomic(path, unstructure(summary))
        return path

    def read_summary(self, run_id: str) -> dict[str, Any]:
        path = self.summary_path(run_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"no run summary {path}", "check the id with `bench_runner list`") from None
        except ValueError as exc:
            raise BadInput(f"{path} is not valid JSON ({exc})", "re-run with --resume to rewrite it") from None

    def summaries(self) -> Iterator[dict[str, Any]]:
        """Every readable run summary, newest first."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("bench_*.json"), key=lambda p: p.stem.split("_", 2)[-1], reverse=True):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue


def _ensure_writable_dir(folder: Path, what: str, fix: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # a name of its own (tempfile's): a campaign's runs check the same folders at once from one process
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise BadInput(f"{what} is not writable ({exc.strerror})", fix) from None


def check_history(path: str | os.PathLike[str]) -> None:
    """Fail at the start of a run, not after it, when the history file could not take its entry."""
    target = Path(path)
    _ensure_writable_dir(
        target.parent, f"the folder of history file {str(target)!r}", "pass --history with a file you can write"
    )
    read_history(target)


def append_history(path: str | os.PathLike[str], entry: Mapping[str, Any]) -> None:
    """Add a run to the history file under a file lock, replacing the file atomically.

    Concurrent runs serialize on the lock, so every run lands; a crash leaves
    the previous complete file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(target) + ".lock", timeout=60):
        history = read_history(target)
        runs = [r for r in history["runs"] if r.get("run_id") != entry.get("run_id")]
        runs.append(dict(entry))
        write_json_atomic(target, {"schema_version": SCHEMA_VERSION, "runs": runs})


def read_history(path: str | os.PathLike[str]) -> dict[str, Any]:
    target = Path(path)
    try:
        data = json.loads(target.read_text(encoding="utf-8") or '{"runs": []}')
    except FileNotFoundError:
        return {"schema_version": SCHEMA_VERSION, "runs": []}
    except OSError as exc:
        raise BadInput(
            f"history file {target} cannot be read ({exc.strerror})", "pass --history with a file you can read"
        ) from None
    except ValueError as exc:
        raise BadInput(
            f"history file {target} is not valid JSON ({exc})", "fix or move it away, or pass --history"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise BadInput(f"history file {target} has no 'runs' list", "fix or move it away, or pass --history")
    return data
