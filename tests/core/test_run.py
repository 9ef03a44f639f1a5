"""A run's steps in-process: the echo benchmark, the scripted backend, the real sandbox and checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import DEFAULT_PLUGINS, make_plugin_manager
from bench_runner_core.registry import Registry
from bench_runner_core.store import RunStore
from tests.fixtures import echo_plugin
from tests.fixtures.kernel import FIXTURES


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kernel:
    monkeypatch.chdir(tmp_path)  # the history sink writes benchmark_results.json here
    # sandbox workers import the echo plugin's trusted comparison by module name
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(FIXTURES), os.environ.get("PYTHONPATH")])))
    pm = make_plugin_manager(builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin], load_entry_points=False)
    return Kernel(registry=Registry(pm))


def _settings(**extra: object) -> dict[str, object]:
    return {"benchmark": "echo", "backend": "scripted", "echo_size": 4, "n_samples": 2, "workers": 1} | extra


def test_plan_lists_every_sample_problem_by_problem_and_starts_nothing(kernel: Kernel) -> None:
    run = kernel.new_run(kernel.config(_settings(), "test"))
    run.plan()
    try:
        assert [(p.id, i) for p, i in run.pending] == [(f"e{n}", i) for n in range(4) for i in range(2)]
        assert run.samples == [] and run.sandbox is None and run.info is None
        assert (Path("benchmark_results") / run.run_id).is_dir()
    finally:
        run.close()


def test_a_fatal_backend_error_reaches_the_caller_with_the_checkpoint_intact(kernel: Kernel, tmp_path: Path) -> None:
    flag = tmp_path / "give-up"
    flag.write_text("")
    config = kernel.config(_settings(give_up_flag=str(flag)), "test")
    run = kernel.new_run(config)
    with pytest.raises(BadInput) as caught:
        run.execute()
    assert caught.value.problem == "the scripted backend gave up"
    assert f"--resume {run.run_id}" in caught.value.fix and f"remove {flag}" in caught.value.fix
    kept = RunStore(config.results_dir).read_samples(run.run_id)
    assert [(s.problem_id, s.sample_index) for s in kept] == [("e0", 0), ("e0", 1)]

    flag.unlink()
    resumed = kernel.resume_run(run.run_id, config.results_dir)
    resumed.plan()
    assert len(resumed.pending) == 6 and len(resumed.samples) == 2
    resumed.close()
    summary = kernel.resume_run(run.run_id, config.results_dir).execute()
    assert summary.complete and summary.summary.total_samples == 8
    assert summary.summary.pass_at_k["pass@1"] == pytest.approx(0.5)


def test_a_stopped_run_returns_an_incomplete_summary(kernel: Kernel) -> None:
    run = kernel.new_run(kernel.config(_settings(), "test"))
    run.stop()
    summary = run.execute()
    assert not summary.complete
    assert summary.summary.total_samples == 0


def test_a_history_file_the_run_could_not_write_is_refused_before_anything_is_recorded(kernel: Kernel) -> None:
    Path("benchmark_results.json").write_text("{not json")
    run = kernel.new_run(kernel.config(_settings(), "test"))
    with pytest.raises(BadInput, match=r"history file benchmark_results\.json is not valid JSON"):
        run.plan()
    assert not (Path("benchmark_results") / run.run_id).exists()

    Path("a-file").write_text("")
    run = kernel.new_run(kernel.config(_settings(history="a-file/history.json"), "test"))
    with pytest.raises(BadInput, match=r"history file 'a-file/history\.json' is not writable"):
        run.plan()


@pytest.mark.parametrize("sinks", [[], ["summary", "history", "checkpoint"]])
def test_the_summary_is_written_after_the_history_so_a_run_whose_end_was_not_recorded_resumes(
    kernel: Kernel, sinks: list[str]
) -> None:
    config = kernel.config(_settings(sinks=sinks), "test")
    run = kernel.new_run(config)
    run.plan()
    try:
        run.start()
        assert run.drive() is None
    finally:
        run.close()
    Path("benchmark_results.json").write_text("{broken at the end")  # the history fails as the run ends
    with pytest.raises(BadInput):
        run.finish()
    store = RunStore(config.results_dir)
    assert not store.summary_path(run.run_id).exists(), "no complete summary, so the run's end will be redone"

    Path("benchmark_results.json").unlink()
    summary = kernel.resume_run(run.run_id, config.results_dir).execute()
    assert summary.complete and store.read_summary(run.run_id)["complete"]
    assert [r["run_id"] for r in json.loads(Path("benchmark_results.json").read_text())["runs"]] == [run.run_id]
