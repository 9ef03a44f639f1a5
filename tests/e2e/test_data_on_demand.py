"""A new user's first runs: no data flags, data fetched from the stand-in once, pinned, and never fetched again."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.fixtures.hub_server import HubStandIn
from tests.plugins.lcb.test_hub import _one_line_error

Bench = Callable[..., CompletedProcess[str]]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_twice(bench: Bench, hub: HubStandIn, env: dict[str, str], *args: str) -> tuple[dict, dict]:
    first = bench(*args, "--json", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert hub.count() > 0
    before = hub.count()
    second = bench(*args, "--json", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert hub.count() == before, "the second run made a request"
    return json.loads(first.stdout), json.loads(second.stdout)


@pytest.mark.slow
def test_lcb_release_v2_runs_on_a_fresh_home_and_then_offline(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str], tiny_gguf: Path, shared_data: Path
) -> None:
    args = (
        "--benchmark",
        "lcb",
        "--release-version",
        "release_v2",
        "--limit",
        "2",
        "--model",
        str(tiny_gguf),
        "--workers",
        "1",
    )
    first, second = _run_twice(bench, hub, data_env, *args, "--max-tokens", "8")
    lite = shared_data / "lcb" / "code_generation_lite"
    for summary in (first, second):
        assert summary["summary"]["total_problems"] == 2
        pin = summary["metadata"]["benchmark"]["data"]
        assert pin["revision"] == hub.commit("livecodebench/code_generation_lite")
        assert pin["version"] == "release_v2"
        assert pin["files"] == {n: _sha256(lite / n) for n in ("test.jsonl", "test2.jsonl")}


@pytest.mark.slow
def test_humaneval_plus_runs_on_a_fresh_home_and_then_offline(
    bench: Bench, hub: HubStandIn, data_env: dict[str, str], tiny_gguf: Path, shared_data: Path
) -> None:
    args = (
        "--benchmark",
        "humaneval_plus",
        "--limit",
        "2",
        "--model",
        str(tiny_gguf),
        "--max-tokens",
        "8",
        "--workers",
        "1",
    )
    first, second = _run_twice(bench, hub, data_env, *args)
    for summary in (first, second):
        assert summary["summary"]["total_problems"] == 2
        pin = summary["metadata"]["benchmark"]["data"]
        assert pin["revision"] == "v0.1.10"
        assert pin["files"] == {
            "HumanEvalPlus.jsonl.gz": _sha256(shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz")
        }


def test_resume_refuses_other_data(bench: Bench, data_env: dict[str, str], shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lite"
    folder.mkdir()
    for name in ("test.jsonl", "test2.jsonl"):
        shutil.copy(shared_data / "lcb" / "code_generation_lite" / name, folder / name)
    samples = tmp_path / "outputs.json"
    samples.write_text(json.dumps([{"question_id": "1873_A", "code_list": ["print(1)"]}]))
    args = ("--benchmark", "lcb", "--samples", str(samples), "--problems-file", str(folder))
    done = bench(*args, "--release-version", "release_v2", "--json", env=data_env)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = json.loads(done.stdout)["run_id"]
    pin = json.loads((tmp_path / "benchmark_results" / run_id / "data.json").read_text())
    assert pin["schema_version"] == 1 and pin["data"]["files"]["test2.jsonl"] == _sha256(folder / "test2.jsonl")
    same = bench("--resume", run_id, env=data_env)
    assert same.returncode == 0, same.stderr[-3000:]
    with (folder / "test2.jsonl").open("a") as f:
        f.write("\n")  # the same problems, other bytes: no longer the data the run was graded on
    _one_line_error(
        bench("--resume", run_id, env=data_env), f"run {run_id} was graded on lcb release_v2", "test2.jsonl"
    )
