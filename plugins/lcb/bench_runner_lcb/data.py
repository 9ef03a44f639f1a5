"""Finding, reading and selecting ``code_generation_lite`` rows the way lcb_runner does."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from bench_runner import BadInput, DataSnapshot, Problem, datasets, read_jsonl
from bench_runner_lcb.codec import UnsafeRow, decode_test_cases
from bench_runner_lcb.releases import RELEASES, release_files

PLATFORMS = ("leetcode", "codeforces", "atcoder")
DIFFICULTIES = ("easy", "medium", "hard")


@attrs.frozen(kw_only=True)
class Selection:
    """What to load: the source, the release, and the filters on top of it."""

    problems_file: str | None = None
    release: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    platforms: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()


def parse_date(value: str | None, flag: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise BadInput(f"{flag} {value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2024-08-01") from None


def resolve_files(problems_file: str | None, release: str | None) -> tuple[list[Path], str | None, DataSnapshot]:
    """The files to read, in order, the release tag they make up (None for a lone custom file), and their pin.

    With no ``problems_file`` the release's files come from the data cache, or
    are fetched from the Hugging Face Hub and cached (see ``hub``).
    """
    if release is not None:
        release_files(release)
    if problems_file is None:
        from bench_runner_lcb.hub import LiveCodeBenchData

        snapshot = LiveCodeBenchData().fetch(release)
        return [Path(f.path) for f in snapshot.files], snapshot.version, snapshot
    path = Path(problems_file).expanduser()
    if path.is_dir():
        tag, names = release_files(release)
        missing = [n for n in names if not (path / n).is_file()]
        if missing:
            raise BadInput(
                f"{path} lacks {', '.join(missing)} needed for {tag}",
                "download the missing files or pick an older --release-version",
            )
        paths = [path / n for n in names]
        return paths, tag, datasets.local_files("lcb", paths, version=tag)
    if not path.is_file():
        raise BadInput(f"problems file {path} does not exist", "pass a test*.jsonl file or the folder holding them")
    if release is not None and RELEASES[release] != (path.name,):
        raise BadInput(
            f"--release-version {release} needs {', '.join(RELEASES[release])}, but only {path.name} was given",
            "pass the folder holding the files instead of one file",
        )
    tag = release or next((t for t, names in RELEASES.items() if names == (path.name,) and t.startswith("v")), None)
    return [path], tag, datasets.local_files("lcb", [path], version=tag)


def read_rows(paths: Sequence[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, row)`` for every row of the files, ``where`` naming file and line for error messages."""
    for path in paths:
        for number, row in read_jsonl(path, fix="pass an official test*.jsonl file"):
            yield f"{path.name}:{number}", row


def keep(row: dict[str, Any], where: str, selection: Selection) -> bool:
    """lcb_runner's window (``start <= contest_date <= end``, dates at midnight) plus our facet filters."""
    try:
        contest = datetime.fromisoformat(row["contest_date"])
    except (KeyError, TypeError, ValueError):
        raise BadInput(f"row {row.get('question_id')} ({where}) has no valid contest_date", "") from None
    start = parse_date(selection.start_date, "--start-date")
    end = parse_date(selection.end_date, "--end-date")
    if start is not None and contest < start:
        return False
    if end is not None and contest > end:
        return False
    if selection.platforms and row.get("platform") not in selection.platforms:
        return False
    return not (selection.difficulties and row.get("difficulty") not in selection.difficulties)


def to_problem(row: dict[str, Any], where: str) -> Problem:
    """A Problem whose ``data`` holds what prompts, grading and export need; tests public first."""
    qid = row.get("question_id")
    try:
        public = decode_test_cases(row["public_test_cases"])
        private = decode_test_cases(row.get("private_test_cases") or "[]")
        metadata = json.loads(row.get("metadata") or "{}")
    except UnsafeRow as exc:
        raise BadInput(
            f"LiveCodeBench row {qid} ({where}) refused: {exc}",
            "nothing from it was run; use the official code_generation_lite files",
        ) from None
    except (KeyError, ValueError) as exc:
        raise BadInput(f"LiveCodeBench row {qid} ({where}) is malformed: {exc}", "") from None
    func_name = metadata.get("func_name") if isinstance(metadata, dict) else None
    data = {
        "question_title": row.get("question_title", ""),
        "question_content": row.get("question_content", ""),
        "starter_code": row.get("starter_code", ""),
        "contest_id": row.get("contest_id", ""),
        "contest_date": row["contest_date"],
        "func_name": func_name,
        "tests": tuple((c["input"], c["output"]) for c in (*public, *private)),
        "public_tests": len(public),
    }
    attributes = {"difficulty": str(row.get("difficulty", "")), "platform": str(row.get("platform", ""))}
    return Problem(id=str(qid), attributes=attributes, data=data)


def load(selection: Selection) -> tuple[list[Problem], dict[str, Any]]:
    """The selected problems sorted by question_id (lcb_runner's order) and facts for the run record."""
    paths, tag, snapshot = resolve_files(selection.problems_file, selection.release)
    chosen = [(where, row) for where, row in read_rows(paths) if keep(row, where, selection)]
    problems = sorted((to_problem(row, where) for where, row in chosen), key=lambda p: p.id)
    dates = sorted(p.data["contest_date"] for p in problems)
    facts = {
        "release_version": tag,
        "files": [str(p) for p in paths],
        "start_date": selection.start_date,
        "end_date": selection.end_date,
        "platforms": list(selection.platforms),
        "difficulties": list(selection.difficulties),
        "problems": len(problems),
        "contest_dates": [dates[0], dates[-1]] if dates else [],
        "with_private_tests": sum(len(p.data["tests"]) > p.data["public_tests"] for p in problems),
        "data": snapshot.pin(),
    }
    return problems, facts


def as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """An option that may arrive as one value, several, or a comma-separated string."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())
