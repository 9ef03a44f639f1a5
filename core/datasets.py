"""Benchmark data on demand: the ``Dataset`` protocol, the data cache, and a verified download.

A benchmark plugin that can fetch its own data registers a ``Dataset`` with the
``bench_runner_register_datasets`` hook. ``bench_runner data fetch|list|path``
drive it, and the benchmark calls the same object when a run names no data
file. What a run used goes into its metadata as ``DataSnapshot.pin()``, so
``--resume`` can refuse to continue on different data.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import filelock
import structlog

from bench_runner_core.api import BadInput
from bench_runner_core.convert import structure, unstructure, write_json_atomic
from bench_runner_core.files import cache_dir, file_sha256, hash_file
from bench_runner_core.records import SCHEMA_VERSION

log = structlog.get_logger()

#: set to 1 to forbid every download (the files must be cached or given by hand)
OFFLINE_ENV = "BENCH_RUNNER_OFFLINE"


@attrs.frozen(kw_only=True)
class DataFile:
    """One verified file of a dataset: its name in the dataset, where it is, its sha256 and size."""

    name: str
    path: str
    sha256: str
    size: int


@attrs.frozen(kw_only=True)
class DataSnapshot:
    """Files of one version of a dataset, as cached or given.

    ``version`` is what was asked for (``release_v2``, ``v0.1.10``);
    ``revision`` pins the source (a Hub commit, a release tag; None for files
    given by hand); ``path`` is what ``--problems-file`` would take.
    """

    dataset: str
    version: str | None
    revision: str | None
    source: str
    path: str
    files: tuple[DataFile, ...]
    fetched_at: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def pin(self) -> dict[str, Any]:
        """What a run records: enough to tell whether two runs graded the same data."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "revision": self.revision,
            "source": self.source,
            "files": {f.name: f.sha256 for f in self.files},
        }


@runtime_checkable
class Dataset(Protocol):
    """Data a benchmark plugin can fetch on demand. Optional; register it with ``bench_runner_register_datasets``."""

    def fetch(self, version: str | None = None, *, download: bool = True) -> DataSnapshot:
        """The files of ``version`` (None: the default one).

        From the cache, with no network access, when they are there; else
        downloaded, verified and cached (unless ``download`` is false or
        ``offline()``). Raises ``BadInput`` naming what could not be fetched,
        from where, and how to pass the files by hand.
        """
        ...

    def cached(self) -> Sequence[DataSnapshot]:
        """Every snapshot in the cache whose files are still there. Never touches the network."""
        ...


def offline() -> bool:
    """True when ``BENCH_RUNNER_OFFLINE`` (or Hugging Face's ``HF_HUB_OFFLINE``) forbids downloads."""
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in (OFFLINE_ENV, "HF_HUB_OFFLINE")
    )


def data_dir() -> Path:
    """``$XDG_CACHE_HOME/bench-runner/data`` (``~/.cache/bench-runner/data`` by default)."""
    return cache_dir() / "data"


def _records_path(dataset: str) -> Path:
    return data_dir() / f"{dataset}.json"


def _read_records(dataset: str) -> list[DataSnapshot]:
    path = _records_path(dataset)
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).get("snapshots", [])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError):
        log.warning("data_records_unreadable", path=str(path))
        return []
    return [structure(row, DataSnapshot, what=str(path)) for row in rows]


def _present(snapshot: DataSnapshot) -> bool:
    # A size check per file: cheap, and a file verified when it was cached only changes if someone edits it.
    try:
        return all(os.path.getsize(f.path) == f.size for f in snapshot.files)
    except OSError:
        return False


def snapshots(dataset: str) -> list[DataSnapshot]:
    """The recorded snapshots of ``dataset`` whose files are all still in place, newest first."""
    return [s for s in reversed(_read_records(dataset)) if _present(s)]


def remember(snapshot: DataSnapshot) -> DataSnapshot:
    """Record a verified snapshot in the data cache (atomically, under a lock) and return it stamped."""
    stamped = attrs.evolve(
        snapshot, fetched_at=snapshot.fetched_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    path = _records_path(snapshot.dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(path) + ".lock", timeout=60):
        kept = [s for s in _read_records(snapshot.dataset) if _present(s) and s.path != stamped.path]
        rows = [unstructure(s) for s in [*kept, stamped]]
        write_json_atomic(path, {"schema_version": SCHEMA_VERSION, "dataset": snapshot.dataset, "snapshots": rows})
    return stamped


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The file's sha256, read in full (no cache: this is what verifies a download)."""
    return hash_file(Path(path))


def local_files(dataset: str, paths: Sequence[Path], *, version: str | None) -> DataSnapshot:
    """A snapshot of files given by hand (``--problems-file``): no revision, their checksums."""
    # Cached by path, size and mtime: a user's own multi-GB files are hashed once, not on every run.
    files = tuple(DataFile(name=p.name, path=str(p), sha256=file_sha256(p), size=p.stat().st_size) for p in paths)
    where = str(paths[0].parent if len(paths) > 1 else paths[0])
    return DataSnapshot(dataset=dataset, version=version, revision=None, source=where, path=where, files=files)


def download(
    url: str,
    target: Path,
    *,
    what: str,
    fix: str,
    sha256: str | None = None,
    check: Callable[[Path], None] | None = None,
    timeout: float = 60.0,
) -> DataFile:
    """Download ``url`` to ``target``: into a temp file, then verified, then renamed into place.

    A download that stops early (a dropped connection, fewer bytes than
    announced), has another sha256 than ``sha256``, or fails ``check`` (which
    raises ``BadInput``) is deleted and refused with a ``BadInput`` naming
    ``what``, the URL and ``fix``. ``target`` is never a partial file.
    """
    import urllib.error  # here, not at import: `bench_runner --help` must stay fast
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    # The temp file keeps the suffix (.gz) so a check can open it as the final file.
    partial = target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")
    digest = hashlib.sha256()
    received = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "bench-runner", "Accept-Encoding": "identity"})
        log.info("data_download_started", what=what, url=url)
        with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            bar = _Bar(target.name, expected)
            while block := response.read(1 << 16):
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(received)
            bar.close()
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and received != expected:
            raise BadInput(f"the download of {what} from {url} was cut short at {received} of {expected} bytes", fix)
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise BadInput(
                f"{what} downloaded from {url} is corrupt (sha256 {got[:12]}..., expected {sha256[:12]}...)", fix
            )
        if check is not None:
            try:
                check(partial)
            except BadInput as exc:
                raise BadInput(f"{what} downloaded from {url} is not valid ({exc.problem})", fix) from None
        os.replace(partial, target)
    except urllib.error.HTTPError as exc:
        raise BadInput(f"could not fetch {what} from {url} (HTTP {exc.code} {exc.reason})", fix) from None
    except urllib.error.URLError as exc:
        raise BadInput(f"could not fetch {what} from {url} ({exc.reason})", fix) from None
    except (OSError, ValueError) as exc:  # http.client.IncompleteRead, a reset connection, a timeout
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise BadInput(f"the download of {what} from {url} failed after {received} bytes ({reason})", fix) from None
    finally:
        partial.unlink(missing_ok=True)
    log.info("data_download_finished", what=what, path=str(target), bytes=received)
    return DataFile(name=target.name, path=str(target), sha256=digest.hexdigest(), size=received)


class _Bar:
    """A download bar on stderr when it is a terminal; nothing otherwise (the log lines say enough)."""

    def __init__(self, name: str, total: int | None) -> None:
        self.name, self.total = name, total
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if not self.tty or (now - self.last < 0.1 and done != self.total):
            return
        self.last = now
        shown = (
            f"{done / 1e6:.1f}/{self.total / 1e6:.1f} MB {done / self.total:4.0%}"
            if self.total
            else f"{done / 1e6:.1f} MB"
        )
        sys.stderr.write(f"\rdownloading {self.name}  {shown}\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def describe(snapshot: DataSnapshot) -> Mapping[str, Any]:
    """A snapshot as ``data list --json`` prints it."""
    return {"schema_version": SCHEMA_VERSION, **unstructure(snapshot), "size": snapshot.size}


__all__ = [
    "OFFLINE_ENV",
    "DataFile",
    "DataSnapshot",
    "Dataset",
    "data_dir",
    "describe",
    "download",
    "local_files",
    "offline",
    "remember",
    "sha256_of",
    "snapshots",
]
