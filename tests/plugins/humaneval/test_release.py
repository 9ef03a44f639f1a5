"""HumanEval+'s release file from the stand-in release URL: pinned sha256, temp file then rename, cached."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from bench_runner_humaneval.release import KNOWN_SHA256, VERSION
from tests.fixtures.hub_server import HubStandIn
from tests.plugins.lcb.test_hub import _one_line_error

Bench = Callable[..., CompletedProcess[str]]


def _cached(env: dict[str, str], version: str = VERSION) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "bench-runner" / "data" / "humaneval_plus" / version / "HumanEvalPlus.jsonl.gz"


def test_the_pinned_release_is_the_shared_file(shared_data: Path) -> None:
    data = (shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == KNOWN_SHA256[VERSION]


def test_fetch_follows_the_redirect_verifies_and_caches(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str]
) -> None:
    done = bench("data", "fetch", "humaneval_plus", env=data_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [p for _, p in hub.requests][-1].startswith("/objects/"), "the GitHub-style redirect was followed"
    target = _cached(data_env)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == KNOWN_SHA256[VERSION]
    assert f"sha256 {KNOWN_SHA256[VERSION]}" in done.stdout
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temp file is left"
    before = hub.count()
    assert bench("data", "path", "humaneval_plus", env=data_env).stdout.strip() == str(target)
    assert "humaneval_plus  v0.1.10" in bench("data", "list", env=data_env).stdout
    assert hub.count() == before


def test_corrupted_and_truncated_downloads_are_refused(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    hub.faults["HumanEvalPlus.jsonl.gz"] = "corrupt"
    corrupt = bench("data", "fetch", "humaneval_plus", env=data_env)
    _one_line_error(corrupt, "HumanEval+ v0.1.10", "is corrupt", "expected 272720b90ac3", "--problems-file")
    hub.faults["HumanEvalPlus.jsonl.gz"] = "cut"
    cut = bench("data", "fetch", "humaneval_plus", env=data_env)
    _one_line_error(cut, "was cut short at 462966 of 925932 bytes", hub.url)
    assert not _cached(data_env).parent.exists() or not any(_cached(data_env).parent.iterdir())
    assert bench("data", "path", "humaneval_plus", env=data_env).returncode == 2


def test_an_unpinned_version_is_checked_for_integrity(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    good = gzip.decompress(hub.releases[VERSION]["HumanEvalPlus.jsonl.gz"])
    hub.releases["v0.1.9"] = {"HumanEvalPlus.jsonl.gz": gzip.compress(good[: len(good) // 2])}  # ends mid-line
    done = bench("data", "fetch", "humaneval_plus", "--release-version", "v0.1.9", env=data_env)
    _one_line_error(done, "HumanEval+ v0.1.9", "is not valid", "not JSON")
    hub.releases["v0.1.9"] = {"HumanEvalPlus.jsonl.gz": gzip.compress(good)}
    assert bench("data", "fetch", "humaneval_plus", "--release-version", "v0.1.9", env=data_env).returncode == 0
    missing = bench("data", "fetch", "humaneval_plus", "--release-version", "v9", env=data_env)
    _one_line_error(missing, "could not fetch HumanEval+ v9", "HTTP 404")


def test_offline_names_the_file_and_the_flag(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    done = bench("--benchmark", "humaneval_plus", "--limit", "1", env={**data_env, "BENCH_RUNNER_OFFLINE": "1"})
    _one_line_error(done, "HumanEval+ v0.1.10 is not cached", "offline", "--problems-file", hub.release_url()[:30])
    assert hub.count() == 0
