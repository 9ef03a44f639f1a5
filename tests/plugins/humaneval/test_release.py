"""HumanEval+'s release file from the stand-in release URL: pinned sha256, temp file then rename, cached."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from bench_runner import BadInput, datasets
from bench_runner_humaneval.release import KNOWN_SHA256, URL_ENV, VERSION, HumanEvalPlusData
from tests.fixtures.hub_server import HubStandIn

Bench = Callable[..., CompletedProcess[str]]


def _cached(cache: Path, version: str = VERSION) -> Path:
    return cache / "bench-runner" / "data" / "humaneval_plus" / version / "HumanEvalPlus.jsonl.gz"


@pytest.fixture
def release(hub: HubStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> HubStandIn:
    """The stand-in as the release URL, for in-process fetches into a fresh cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(URL_ENV, hub.release_url())
    for name in (datasets.OFFLINE_ENV, "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return hub


def test_the_pinned_release_is_the_shared_file(shared_data: Path) -> None:
    data = (shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == KNOWN_SHA256[VERSION]


def test_cli_fetch_follows_the_redirect_verifies_and_caches(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str]
) -> None:
    done = bench("data", "fetch", "humaneval_plus", env=data_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [p for _, p in hub.requests][-1].startswith("/objects/"), "the GitHub-style redirect was followed"
    target = _cached(Path(data_env["XDG_CACHE_HOME"]))
    assert hashlib.sha256(target.read_bytes()).hexdigest() == KNOWN_SHA256[VERSION]
    assert f"sha256 {KNOWN_SHA256[VERSION]}" in done.stdout
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temp file is left"
    before = hub.count()
    assert bench("data", "path", "humaneval_plus", env=data_env).stdout.strip() == str(target)
    assert hub.count() == before


@pytest.mark.parametrize(
    ("fault", "message"),
    [("corrupt", r"HumanEval\+ v0.1.10 downloaded from .* is corrupt \(sha256 .*expected 272720b90ac3"),
     ("cut", r"the download of HumanEval\+ v0.1.10 from .* was cut short at 462966 of 925932 bytes")],
)  # fmt: skip
def test_corrupted_and_truncated_downloads_are_refused(
    release: HubStandIn, tmp_path: Path, fault: str, message: str
) -> None:
    release.faults["HumanEvalPlus.jsonl.gz"] = fault
    with pytest.raises(BadInput, match=message) as caught:
        HumanEvalPlusData().fetch()
    assert "--problems-file" in caught.value.fix
    folder = _cached(tmp_path / "cache").parent
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(BadInput, match="not in the data cache"):
        HumanEvalPlusData().fetch(download=False)


def test_an_unpinned_version_is_checked_for_integrity(release: HubStandIn) -> None:
    good = gzip.decompress(release.releases[VERSION]["HumanEvalPlus.jsonl.gz"])
    release.releases["v0.1.9"] = {
        "HumanEvalPlus.jsonl.gz": gzip.compress(good[: len(good) // 2], compresslevel=1)
    }  # ends mid-line
    with pytest.raises(BadInput, match=r"HumanEval\+ v0.1.9 downloaded from .* is not valid \(.*not JSON"):
        HumanEvalPlusData().fetch("v0.1.9")
    whole = gzip.compress(good, compresslevel=1)
    release.releases["v0.1.9"] = {"HumanEvalPlus.jsonl.gz": whole}
    assert HumanEvalPlusData().fetch("v0.1.9").files[0].size == len(whole)
    with pytest.raises(BadInput, match=r"could not fetch HumanEval\+ v9 from .* \(HTTP 404"):
        HumanEvalPlusData().fetch("v9")


def test_offline_run_names_the_file_and_the_flag(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    done = bench("--benchmark", "humaneval_plus", "--limit", "1", env={**data_env, "BENCH_RUNNER_OFFLINE": "1"})
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("bench_runner: error:")]
    for needle in ("HumanEval+ v0.1.10 is not cached", "offline", "--problems-file", hub.release_url()[:30]):
        assert needle in line
    assert hub.count() == 0
