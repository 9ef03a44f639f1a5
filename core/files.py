"""File helpers for the kernel and plugins: JSONL reading, atomic writes, cached sha256, the cache folders."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import filelock

from bench_runner_core.api import BadInput


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bench-runner`` (``~/.cache/bench-runner`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bench-runner"


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, found as ``huggingface_hub`` finds it (``HF_HUB_CACHE``, ``HF_HOME``, XDG)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("HF_HOME") or os.path.join(xdg, "huggingface")) / "hub"


def read_jsonl(path: str | Path, *, fix: str = "pass a JSONL file") -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line, gunzipped when the name ends in ``.gz``.

    Any unreadable file or line is a ``BadInput`` naming the file and line; ``fix`` says what to pass instead.
    """
    path = Path(path)
    try:
        opened = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}", "check the path") from exc
    with opened as lines:
        try:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadInput(f"{path}:{number} is not JSON ({exc.msg})", fix) from exc
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {path}: {exc}", fix) from exc


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text file that appears whole or not at all: written to a temporary file, fsynced, then renamed.

    A reader (or a crash) never sees half a file; an error inside the block leaves the old file alone.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    # the rename itself is durable only once the folder is
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _index_path() -> Path:
    return cache_dir() / "sha256.json"


def _key(path: Path) -> tuple[str, str]:
    stat = path.stat()
    return str(path.resolve()), f"{stat.st_mtime_ns}:{stat.st_size}"


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _load_index() -> dict[str, dict[str, str]]:
    try:
        return json.loads(_index_path().read_text())
    except (OSError, ValueError):
        return {}


def remember_sha256(path: Path, sha256: str) -> None:
    """Record a digest for ``path`` as it is now (same mtime and size -> same digest)."""
    where, stamp = _key(path)
    index_file = _index_path()
    try:
        index_file.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(index_file) + ".lock", timeout=10):
            index = _load_index()
            index[where] = {"stamp": stamp, "sha256": sha256}
            with atomic_writer(index_file) as out:
                out.write(json.dumps(index, indent=1, sort_keys=True))
    except (OSError, filelock.Timeout):
        # the cache only saves time; a read-only home must not stop a run
        pass


def file_sha256(path: str | Path) -> str:
    """The file's sha256, computed once per (path, mtime, size) and kept in the user cache."""
    path = Path(path)
    where, stamp = _key(path)
    entry = _load_index().get(where)
    if entry and entry.get("stamp") == stamp:
        return entry["sha256"]
    sha256 = hash_file(path)
    remember_sha256(path, sha256)
    return sha256
