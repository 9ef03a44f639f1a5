"""File helpers shared by the model backends: the user cache and a cached sha256."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import filelock


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bench-runner`` (``~/.cache/bench-runner`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bench-runner"


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
            tmp = index_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
            os.replace(tmp, index_file)
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
