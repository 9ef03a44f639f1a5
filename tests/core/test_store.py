from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.records import Attempt, Completion, RunConfig, SampleResult, Verdict
from bench_runner_core.store import RUN_ID, RunStore, append_history, check_history, new_run_id, read_history


def sample(pid: str, index: int = 0) -> SampleResult:
    return SampleResult(
        problem_id=pid,
        sample_index=index,
        attempts=(Attempt(completion=Completion(text="t"), program="p", verdict=Verdict(status="passed")),),
    )


def test_run_ids_have_the_documented_shape() -> None:
    assert RUN_ID.match(new_run_id())
    assert new_run_id() != new_run_id()


def test_checkpoint_round_trips_and_carries_schema_version(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    config = RunConfig(benchmark="echo", backend="scripted", options={"echo_size": 3})
    store.create("bench_0123abcd_20260101_000000", config, "2026-01-01T00:00:00+00:00")
    store.append_sample("bench_0123abcd_20260101_000000", sample("a"))
    store.append_sample("bench_0123abcd_20260101_000000", sample("b", 1))
    lines = (tmp_path / "bench_0123abcd_20260101_000000" / "samples.jsonl").read_text().splitlines()
    assert all(json.loads(line)["schema_version"] == 1 for line in lines)
    assert [(s.problem_id, s.sample_index) for s in store.read_samples("bench_0123abcd_20260101_000000")] == [
        ("a", 0),
        ("b", 1),
    ]
    loaded, start = store.load_config("bench_0123abcd_20260101_000000")
    assert loaded == config and start.startswith("2026")


def test_a_torn_last_line_is_dropped_and_the_file_repaired(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")
    store.append_sample(run_id, sample("a"))
    path = tmp_path / run_id / "samples.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"problem_id": "b", "sample_in')
    assert [s.problem_id for s in store.read_samples(run_id)] == ["a"]
    store.append_sample(run_id, sample("c"))
    assert [s.problem_id for s in store.read_samples(run_id)] == ["a", "c"]


def test_a_corrupt_middle_line_is_an_error_not_silence(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")
    path = tmp_path / run_id / "samples.jsonl"
    path.write_text("garbage\n" + json.dumps({"x": 1}) + "\n")
    with pytest.raises(BadInput):
        store.read_samples(run_id)


def test_unknown_and_malformed_run_ids(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(BadInput, match="not a run id"):
        store.load_config("../etc")
    with pytest.raises(BadInput, match="no run"):
        store.load_config("bench_0123abcd_20260101_000000")


def _append(path: str, i: int, start: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    start.wait()
    append_history(path, {"run_id": f"run{i}", "results": {"score": i}})


def test_concurrent_history_appends_all_land(tmp_path: Path) -> None:
    path = str(tmp_path / "benchmark_results.json")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_append, args=(path, i, start)) for i in range(8)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    history = read_history(path)
    assert sorted(r["run_id"] for r in history["runs"]) == sorted(f"run{i}" for i in range(8))
    assert history["schema_version"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_a_malformed_history_file_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("{not json")
    with pytest.raises(BadInput, match="not valid JSON"):
        append_history(path, {"run_id": "x"})
    assert path.read_text() == "{not json"


def test_unfinished_samples_keep_their_attempts_and_a_later_line_supersedes(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted", mode="iterative"), "now")
    failed = Attempt(completion=Completion(text="t"), program="p", verdict=Verdict(status="failed"), feedback="no")
    store.append_sample(run_id, SampleResult(problem_id="a", sample_index=0, attempts=(failed,), complete=False))
    store.append_sample(run_id, SampleResult(problem_id="b", sample_index=0, attempts=(failed,), complete=False))
    store.append_sample(run_id, SampleResult(problem_id="a", sample_index=0, attempts=(failed, *sample("a").attempts)))
    with open(tmp_path / run_id / "samples.jsonl", "ab") as f:
        f.write(b'{"problem_id": "b", "sample_index": 0, "attem')  # killed while checkpointing b's second attempt
    lines = {s.problem_id: s for s in store.read_checkpoint(run_id)}
    assert lines["a"].complete and len(lines["a"].attempts) == 2
    assert not lines["b"].complete and lines["b"].attempts == (failed,)
    assert [s.problem_id for s in store.read_samples(run_id)] == ["a"]
    assert (tmp_path / run_id / "samples.jsonl").read_bytes().endswith(b"\n")


def test_a_checkpoint_written_before_attempts_were_checkpointed_still_loads(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")
    old = {
        "schema_version": 1,
        "problem_id": "a",
        "sample_index": 0,
        "attempts": [{"completion": {"text": "t"}, "program": "p", "verdict": {"status": "passed"}}],
        "attributes": {},
    }
    (tmp_path / run_id / "samples.jsonl").write_text(json.dumps(old) + "\n")
    (loaded,) = store.read_samples(run_id)
    assert loaded.complete and loaded.attempts[0].feedback == "" and loaded.verdict.passed


def test_an_unsynced_line_is_readable_at_once_and_synced_later(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")
    store.sync_samples(run_id)  # no checkpoint yet: nothing to do
    store.append_sample(run_id, sample("a"), sync=False)
    store.append_sample(run_id, sample("b"), sync=False)
    store.sync_samples(run_id)
    assert [s.problem_id for s in store.read_samples(run_id)] == ["a", "b"]


def test_a_run_killed_while_being_created_is_created_again(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = "bench_0123abcd_20260101_000000"
    (tmp_path / run_id).mkdir()  # killed between the folder and its run.json
    store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")
    assert store.load_config(run_id)[0].benchmark == "echo"
    with pytest.raises(FileExistsError):  # a run that exists is never overwritten
        store.create(run_id, RunConfig(benchmark="echo", backend="scripted"), "now")


def test_runs_starting_together_in_one_process_all_pass_the_writable_checks(tmp_path: Path) -> None:
    # a campaign starts its runs in threads of one process: their probes must not remove each other's
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def check() -> None:
        start.wait()
        try:
            for _ in range(200):
                check_history(tmp_path / "history.json")
                RunStore(tmp_path / "results").ensure_writable()
        except BadInput as exc:
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"], "no probe is left behind"
