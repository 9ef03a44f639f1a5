"""LiveCodeBench's ``code_generation_lite`` files from the Hugging Face Hub, only those a release needs.

Downloads go through ``huggingface_hub``, so its cache (``HF_HOME``,
``HF_HUB_CACHE``), token, ``HF_ENDPOINT`` mirrors and ``HF_HUB_OFFLINE`` work
as they do for every Hub user. Each file is checked against the sha256 the Hub
lists for it (the git blob id for a file not in LFS) before it is used. A
verified snapshot is recorded in bench-runner's data cache, so later runs find
it with no network access.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from bench_runner import BadInput, DataFile, DataSnapshot, datasets
from bench_runner_lcb.releases import release_files

log = structlog.get_logger()

REPO_ID = "livecodebench/code_generation_lite"
NAME = "lcb"


def _source() -> str:
    from huggingface_hub import constants

    return f"{constants.ENDPOINT}/datasets/{REPO_ID}"


def _hand_fix(names: Sequence[str]) -> str:
    return (
        f"download {', '.join(names)} from {_source()} by hand and pass their folder with --problems-file, "
        "or fetch them on a connected machine with `bench_runner data fetch lcb`"
    )


class LiveCodeBenchData:
    """The ``lcb`` dataset: release tags map to files as in the official loading script."""

    def fetch(self, version: str | None = None, *, download: bool = True) -> DataSnapshot:
        tag, names = release_files(version)
        found = self._recorded(names) or self._in_hub_cache(tag, names)
        if found is not None:
            return _narrow(found, tag, names)
        if not download:
            raise BadInput(
                f"LiveCodeBench {tag} is not in the data cache", "fetch it with `bench_runner data fetch lcb`"
            )
        if datasets.offline():
            raise BadInput(
                f"LiveCodeBench {tag} ({', '.join(names)}) is not cached and offline mode is on", _hand_fix(names)
            )
        return datasets.remember(_download(tag, names))

    def cached(self) -> Sequence[DataSnapshot]:
        return datasets.snapshots(NAME)

    def _recorded(self, names: Sequence[str]) -> DataSnapshot | None:
        for snapshot in datasets.snapshots(NAME):
            if set(names) <= {f.name for f in snapshot.files}:
                return snapshot
        return None

    def _in_hub_cache(self, tag: str, names: Sequence[str]) -> DataSnapshot | None:
        # Users who ran lcb_runner have the files in the Hugging Face cache already: adopt them, offline.
        folder = _hub_cache_folder(names)
        if folder is None:
            return None
        files = []
        for name in names:
            path = folder / name
            sha256 = datasets.sha256_of(path)
            blob = os.path.basename(os.path.realpath(path))
            if len(blob) == 64 and blob != sha256:  # an LFS blob is named by its sha256
                raise BadInput(
                    f"{path} in the Hugging Face cache is corrupt (sha256 {sha256[:12]}..., expected {blob[:12]}...)",
                    f"delete it and run `bench_runner data fetch lcb --release-version {tag}`",
                )
            files.append(DataFile(name=name, path=str(path), sha256=sha256, size=path.stat().st_size))
        log.info("lcb_data_adopted", folder=str(folder), files=list(names))
        source = f"hf-cache:datasets/{REPO_ID}"
        return datasets.remember(
            DataSnapshot(
                dataset=NAME, version=tag, revision=folder.name, source=source, path=str(folder), files=tuple(files)
            )
        )


def _narrow(snapshot: DataSnapshot, tag: str, names: Sequence[str]) -> DataSnapshot:
    # A snapshot fetched for release_v6 also serves release_v2: pin only the files the run reads.
    files = tuple(f for f in snapshot.files if f.name in names)
    return DataSnapshot(
        dataset=NAME,
        version=tag,
        revision=snapshot.revision,
        source=snapshot.source,
        path=snapshot.path,
        files=files,
        fetched_at=snapshot.fetched_at,
    )


def _hub_cache_folder(names: Sequence[str]) -> Path | None:
    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / ("datasets--" + REPO_ID.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    main = repo / "refs" / "main"
    preferred = main.read_text().strip() if main.is_file() else ""
    complete = [p for p in snapshots.iterdir() if all((p / n).is_file() for n in names)]
    complete.sort(key=lambda p: (p.name == preferred, p.stat().st_mtime))
    return complete[-1] if complete else None


def _download(tag: str, names: Sequence[str]) -> DataSnapshot:
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.utils import disable_progress_bars

    if not sys.stderr.isatty():
        disable_progress_bars()
    source = _source()
    fix = _hand_fix(names)
    try:
        info = HfApi().dataset_info(REPO_ID, files_metadata=True)
    except Exception as exc:  # network, HTTP, offline: all mean "could not fetch"
        raise BadInput(f"could not fetch the file list of {source} ({_reason(exc)})", fix) from None
    listed = {s.rfilename: s for s in info.siblings or ()}
    absent = [n for n in names if n not in listed]
    if absent or not info.sha:
        raise BadInput(f"{source} has no {', '.join(absent) or 'commit id'} (needed for {tag})", fix)
    files = []
    for name in names:
        log.info("lcb_data_download", file=name, revision=info.sha, source=source)
        try:
            path = Path(hf_hub_download(REPO_ID, name, repo_type="dataset", revision=info.sha))
        except Exception as exc:
            raise BadInput(f"could not fetch {name} from {source} ({_reason(exc)})", fix) from None
        files.append(_verify(path, name, listed[name], source))
    return DataSnapshot(
        dataset=NAME, version=tag, revision=info.sha, source=source, path=str(path.parent), files=tuple(files)
    )


def _verify(path: Path, name: str, sibling: Any, source: str) -> DataFile:
    """Check a downloaded file against the Hub's listing; a bad one is removed from the cache and refused."""
    lfs = getattr(sibling, "lfs", None)
    sha256 = datasets.sha256_of(path)
    if lfs is not None:
        ok, expected, got = sha256 == lfs.sha256, lfs.sha256, sha256
    else:  # a plain git file: the Hub lists its git blob id
        ok, expected, got = _git_blob_id(path) == sibling.blob_id, sibling.blob_id or "?", _git_blob_id(path)
    size = path.stat().st_size
    if ok and (sibling.size is None or sibling.size == size):
        return DataFile(name=name, path=str(path), sha256=sha256, size=size)
    blob = Path(os.path.realpath(path))
    path.unlink(missing_ok=True)
    blob.unlink(missing_ok=True)
    raise BadInput(
        f"{name} downloaded from {source} is corrupt (checksum {got[:12]}..., expected {expected[:12]}...); "
        "it was removed from the cache",
        f"run the command again; if it persists, the mirror serves other bytes: {_hand_fix([name])}",
    )


def _git_blob_id(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__
