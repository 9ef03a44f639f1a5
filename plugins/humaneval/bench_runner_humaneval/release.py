"""EvalPlus's HumanEval+ release file, fetched on demand and cached under ``$XDG_CACHE_HOME/bench-runner/data``.

The pinned release is the one EvalPlus itself loads (``HUMANEVAL_PLUS_VERSION``).
Its sha256 is known, so a download with other bytes is refused. Other
versions can be fetched too; they are checked for being whole gzip JSONL with
every HumanEval+ field. ``BENCH_RUNNER_HUMANEVAL_PLUS_URL`` points at a mirror
(``{version}`` in it is replaced).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from bench_runner import BadInput, DataSnapshot, datasets

NAME = "humaneval_plus"
FILE = "HumanEvalPlus.jsonl.gz"
#: the release EvalPlus pins (evalplus/data/humaneval.py)
VERSION = "v0.1.10"
#: sha256 of the published release files we know
KNOWN_SHA256 = {"v0.1.10": "272720b90ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101"}
URL = "https://github.com/evalplus/humanevalplus_release/releases/download/{version}/" + FILE
URL_ENV = "BENCH_RUNNER_HUMANEVAL_PLUS_URL"
TASKS = 164


def release_url(version: str) -> str:
    """Where the release file is downloaded from: the mirror in ``$BENCH_RUNNER_HUMANEVAL_PLUS_URL``, or GitHub."""
    return (os.environ.get(URL_ENV) or URL).replace("{version}", version)


def _check(path: Path) -> None:
    from bench_runner_humaneval.data import read_problem_rows

    # Reading every row proves the gzip stream is whole and each line is a HumanEval+ problem.
    rows = read_problem_rows(path, plus=True)
    if len(rows) != TASKS:
        raise BadInput(f"{path} holds {len(rows)} problems, not HumanEval+'s {TASKS}", "")


class HumanEvalPlusData:
    """The ``humaneval_plus`` dataset: one gzip JSONL file per EvalPlus release."""

    def fetch(self, version: str | None = None, *, download: bool = True) -> DataSnapshot:
        version = version or VERSION
        for snapshot in datasets.snapshots(NAME):
            if snapshot.version == version:
                return snapshot
        url = release_url(version)
        fix = (
            f"download {FILE} ({version}) by hand from {url} and pass it with --problems-file, "
            f"or set {URL_ENV} to a mirror"
        )
        if not download:
            raise BadInput(
                f"HumanEval+ {version} is not in the data cache",
                "fetch it with `bench_runner data fetch humaneval_plus`",
            )
        if datasets.offline():
            raise BadInput(f"HumanEval+ {version} is not cached and offline mode is on", fix)
        target = datasets.data_dir() / NAME / version / FILE
        known = KNOWN_SHA256.get(version)
        # A known sha256 proves the file whole; another version must read as HumanEval+ problems instead.
        file = datasets.download(
            url, target, what=f"HumanEval+ {version}", fix=fix, sha256=known, check=None if known else _check
        )
        snapshot = DataSnapshot(
            dataset=NAME, version=version, revision=version, source=url, path=file.path, files=(file,)
        )
        return datasets.remember(snapshot)

    def cached(self) -> Sequence[DataSnapshot]:
        return datasets.snapshots(NAME)
