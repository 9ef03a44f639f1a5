"""LiveCodeBench release tags and the code_generation_lite files each reads, as the official loader maps them."""

from __future__ import annotations

from bench_runner import BadInput

FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
LATEST = "release_v6"


def _release_table() -> dict[str, tuple[str, ...]]:
    # The tags of the official loading script: release_vN is cumulative, vN is one file, vA_vB a span.
    table: dict[str, tuple[str, ...]] = {}
    for n in range(1, len(FILES) + 1):
        table[f"release_v{n}"] = FILES[:n]
        table[f"v{n}"] = (FILES[n - 1],)
        for m in range(n + 1, len(FILES) + 1):
            table[f"v{n}_v{m}"] = FILES[n - 1 : m]
    table["release_latest"] = table[LATEST]
    return table


RELEASES = _release_table()


def release_files(release: str | None) -> tuple[str, tuple[str, ...]]:
    """The release tag (``release_latest`` when None) and the files it reads, as the official loader maps them."""
    tag = release or "release_latest"
    if tag not in RELEASES:
        known = ", ".join(f"release_v{n}" for n in range(1, len(FILES) + 1))
        raise BadInput(f"unknown release version {tag!r}", f"use one of {known}, release_latest, vN or vA_vB")
    return tag, RELEASES[tag]


__all__ = ["FILES", "LATEST", "RELEASES", "release_files"]
