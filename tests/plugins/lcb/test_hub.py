"""LiveCodeBench data from the Hub stand-in through the installed CLI: only a release's files, verified, cached."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from tests.fixtures.hub_server import HubStandIn

Bench = Callable[..., CompletedProcess[str]]
REPO = "livecodebench/code_generation_lite"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hub_cache(env: dict[str, str]) -> Path:
    return Path(env["HF_HOME"]) / "hub" / "datasets--livecodebench--code_generation_lite"


def _one_line_error(done: CompletedProcess[str], *needles: str) -> str:
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("bench_runner: error:")]
    assert len(errors) == 1, done.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_fetch_downloads_only_the_release_files_then_works_offline(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str], shared_data: Path
) -> None:
    done = bench("data", "fetch", "lcb", "--release-version", "release_v2", env=data_env)
    assert done.returncode == 0, done.stderr[-2000:]
    gets = sorted(p.rsplit("/", 1)[-1] for m, p in hub.requests if m == "GET" and "/resolve/" in p)
    assert gets == ["test.jsonl", "test2.jsonl"]  # not README.md, not the other releases' files
    commit = hub.commit(REPO)
    lite = shared_data / "lcb" / "code_generation_lite"
    assert f"revision {commit}" in done.stdout
    for name in ("test.jsonl", "test2.jsonl"):
        assert f"{name}  " in done.stdout and _sha256(lite / name) in done.stdout
    folder = _hub_cache(data_env) / "snapshots" / commit
    assert _sha256(folder / "test2.jsonl") == _sha256(lite / "test2.jsonl")

    before = hub.count()
    again = bench("data", "fetch", "lcb", "--release-version", "release_v1", env=data_env)
    path = bench("data", "path", "lcb", "--release-version", "release_v2", env=data_env)
    listed = bench("data", "list", "--json", env=data_env)
    assert hub.count() == before, "a cached release is served with no request at all"
    assert again.returncode == 0 and "test2.jsonl" not in again.stdout
    assert path.stdout.strip() == str(folder)
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["schema_version"] == 1 and row["dataset"] == "lcb" and row["revision"] == commit
    assert row["size"] == (lite / "test.jsonl").stat().st_size + (lite / "test2.jsonl").stat().st_size
    assert {f["name"]: f["sha256"] for f in row["files"]} == {
        n: _sha256(lite / n) for n in ("test.jsonl", "test2.jsonl")
    }


def test_a_corrupted_download_is_refused_and_removed(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    hub.faults["test2.jsonl"] = "corrupt"
    done = bench("data", "fetch", "lcb", "--release-version", "release_v2", env=data_env)
    _one_line_error(done, "test2.jsonl", "is corrupt", hub.url, "--problems-file")
    snapshot = _hub_cache(data_env) / "snapshots" / hub.commit(REPO)
    assert not (snapshot / "test2.jsonl").exists()
    assert bench("data", "path", "lcb", "--release-version", "release_v2", env=data_env).returncode == 2
    del hub.faults["test2.jsonl"]
    assert bench("data", "fetch", "lcb", "--release-version", "release_v2", env=data_env).returncode == 0


def test_an_interrupted_download_leaves_no_file_behind(bench: Bench, hub: HubStandIn, data_env: dict[str, str]) -> None:
    hub.faults["test2.jsonl"] = "cut"  # the connection drops mid-body, then the server answers 503
    done = bench("data", "fetch", "lcb", "--release-version", "release_v2", env=data_env)
    _one_line_error(done, "could not fetch test2.jsonl from", hub.url, "--problems-file")
    blobs = _hub_cache(data_env) / "blobs"
    assert sorted(os.listdir(blobs)) == [_sha256_of_served(hub, "test.jsonl")], "no partial blob is kept"
    assert "no benchmark data cached" in bench("data", "list", env=data_env).stdout


def _sha256_of_served(hub: HubStandIn, name: str) -> str:
    return hashlib.sha256(hub.datasets[REPO][name]).hexdigest()


def test_a_dropped_connection_is_resumed_and_the_result_verified(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str]
) -> None:
    hub.faults["test2.jsonl"] = "cut_once"
    done = bench("data", "fetch", "lcb", "--release-version", "release_v2", env=data_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _sha256_of_served(hub, "test2.jsonl") in done.stdout


def test_offline_or_unreachable_says_what_from_where_and_how_by_hand(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str]
) -> None:
    offline = bench("data", "fetch", "lcb", "--release-version", "release_v2", env={**data_env, "HF_HUB_OFFLINE": "1"})
    _one_line_error(offline, "LiveCodeBench release_v2", "offline", "--problems-file")
    assert hub.count() == 0
    closed = {**data_env, "HF_ENDPOINT": "http://127.0.0.1:9"}  # the discard port: nothing listens there
    _one_line_error(bench("data", "fetch", "lcb", env=closed), "could not fetch", "127.0.0.1:9", "--problems-file")


def test_files_already_in_the_hugging_face_cache_are_used_offline(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str], shared_data: Path
) -> None:
    # What lcb_runner's `load_dataset` leaves behind: blobs named by sha256, snapshot symlinks, refs/main.
    repo = _hub_cache(data_env)
    snapshot = repo / "snapshots" / ("c0ffee" * 6 + "c0ff")
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for name in ("test.jsonl", "test2.jsonl", "test3.jsonl"):
        data = (shared_data / "lcb" / "code_generation_lite" / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snapshot.name)
    done = bench("data", "fetch", "lcb", "--release-version", "v3", env={**data_env, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"revision {snapshot.name}" in done.stdout and "test3.jsonl" in done.stdout
    assert hub.count() == 0
