"""The plugin as the kernel sees it: entry point, registration, options, and runs through the real CLI."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from bench_runner import RunConfig
from bench_runner_core.manager import Registry, make_plugin_manager
from bench_runner_lcb import plugin
from bench_runner_lcb.benchmark import LiveCodeBench
from tests.fixtures.kernel import BIN, cli_env

O1_MINI = "submissions__O1-Mini-2024-09-12_N1__Scenario.codegeneration_1_0.2_eval_all.json"


def test_entry_point_is_installed() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="bench_runner")}
    assert found.get("lcb") == "bench_runner_lcb.plugin"


def test_registers_lcb_and_its_options_cheaply() -> None:
    registry = Registry(make_plugin_manager(builtins=(), extra_plugins=[plugin], load_entry_points=False))
    assert registry.get("benchmark", "lcb").factory is plugin.factory
    options = {name: option for name, (option, _) in registry.options.items()}
    for name in ("problems_file", "release_version", "start_date", "end_date", "platform", "difficulty"):
        assert name in options
    assert options["problems_file"].type == "path"
    assert options["problems_file"].help == "problems file in the benchmark's official format"
    assert options["platform"].choices == ("leetcode", "codeforces", "atcoder")
    assert options["lcb_timeout"].default == 6.0


def test_factory_reads_options(shared_data: Path) -> None:
    config = RunConfig(
        benchmark="lcb",
        backend="replay",
        options={
            "problems_file": str(shared_data / "lcb" / "code_generation_lite"),
            "release_version": "release_v2",
            "start_date": "2023-09-01",
            "platform": ("leetcode",),
            "difficulty": None,
            "lcb_timeout": 3.0,
        },
    )
    bench = plugin.factory(config)
    assert isinstance(bench, LiveCodeBench)
    problems = bench.load_problems()
    assert problems and all(p.attributes["platform"] == "leetcode" for p in problems)
    assert all(p.data["contest_date"] >= "2023-09-01" for p in problems)
    meta = bench.metadata()
    assert meta["release_version"] == "release_v2" and meta["start_date"] == "2023-09-01"
    assert meta["problems"] == len(problems) and meta["test_timeout_s"] == 3.0


def _run(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path, plugins="")
    env["BENCH_RUNNER_LOAD_PLUGINS"] = "lcb"  # the installed entry point, nothing else third-party
    return subprocess.run([str(BIN), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_help_lists_lcb_options(tmp_path: Path) -> None:
    done = _run(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    for flag in ("--release-version", "--start-date", "--end-date", "--platform", "--difficulty", "--lcb-timeout"):
        assert flag in done.stdout


def test_cli_grades_lcb_runner_samples_and_exports(shared_data: Path, tmp_path: Path) -> None:
    outputs = json.loads((shared_data / "lcb" / "model_outputs" / O1_MINI).read_text())
    chosen = [r for r in outputs if r["question_id"] in ("1873_A", "1873_B", "2727", "abc301_a")]
    samples = tmp_path / "custom.json"
    samples.write_text(json.dumps([{"question_id": r["question_id"], "code_list": r["code_list"]} for r in chosen]))
    export = tmp_path / "eval_all.json"
    done = _run(
        tmp_path,
        "--benchmark", "lcb",
        "--samples", str(samples),
        "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
        "--release-version", "release_v1",
        "--export", str(export),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    written = {row["question_id"]: row for row in json.loads(export.read_text())}
    assert set(written) == {r["question_id"] for r in chosen}
    for row in chosen:
        if row["graded_list"][0]:
            assert written[row["question_id"]]["graded_list"] == [True], written[row["question_id"]]["metadata"]
    history = json.loads((tmp_path / "benchmark_results.json").read_text())
    run = history["runs"][-1]
    assert run["benchmark"] == "lcb"
    assert set(run["results"]["difficulty_scores"]) <= {"easy", "medium", "hard"}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tiny_gguf", "tiny_chat_gguf"])
def test_cli_runs_a_tiny_model_end_to_end(
    shared_data: Path, tmp_path: Path, model: str, request: pytest.FixtureRequest
) -> None:
    export = tmp_path / "eval_all.json"
    done = _run(
        tmp_path,
        "--benchmark", "lcb",
        "--model", str(request.getfixturevalue(model)),
        "--limit", "3",
        "--max-tokens", "16",
        "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
        "--release-version", "release_v1",
        "--export", str(export),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((tmp_path / "benchmark_results.json").read_text())["runs"][-1]
    assert run["benchmark"] == "lcb"
    assert run["results"]["total_problems"] == 3
    assert run["results"]["difficulty_scores"] == {"easy": 0.0}
    rows = json.loads(export.read_text())
    assert [r["question_id"] for r in rows] == ["1873_A", "1873_B", "1873_D"]
    for row in rows:
        # the model generated (16 tokens, cut by length) and its text was graded, not lost to a backend error
        assert json.loads(row["metadata"][0])["finish_reason"] == "length"
        assert row["output_list"][0] and row["graded_list"] == [False]


def test_cli_refuses_a_bad_release_in_one_line(shared_data: Path, tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        "--benchmark", "lcb",
        "--samples", str(shared_data / "lcb" / "model_outputs" / O1_MINI),
        "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
        "--release-version", "release_v9",
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown release version" in done.stderr


def test_cli_grades_lcb_runner_self_repair_output_like_other_samples(shared_data: Path, tmp_path: Path) -> None:
    outputs = json.loads((shared_data / "lcb" / "model_outputs" / O1_MINI).read_text())
    chosen = [r for r in outputs if r["question_id"] in ("1873_A", "abc301_a")]
    # Scenario.selfrepair_1_0.2.json: the problem's fields, output_list and code_list; a repaired sample as [code]
    repaired = [{**r, "output_list": [[r["output_list"][0]]], "code_list": [[r["code_list"][0]]]} for r in chosen]
    samples = tmp_path / "Scenario.selfrepair_1_0.2.json"
    samples.write_text(json.dumps(repaired))
    done = _run(
        tmp_path,
        "--benchmark", "lcb",
        "--samples", str(samples),
        "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
        "--release-version", "release_v1",
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    results = {r["problem_id"]: r for r in json.loads(done.stdout)["results"]}
    assert {q: r["success"] for q, r in results.items()} == {r["question_id"]: r["graded_list"][0] for r in chosen}


@pytest.mark.slow
def test_cli_runs_a_tiny_chat_model_iteratively(shared_data: Path, tmp_path: Path, tiny_chat_gguf: Path) -> None:
    done = _run(
        tmp_path,
        "--benchmark", "lcb",
        "--model", str(tiny_chat_gguf),
        "--limit", "2",
        "--max-tokens", "8",
        "--mode", "iterative",
        "--max-iterations", "2",
        "--problems-file", str(shared_data / "lcb" / "code_generation_lite"),
        "--release-version", "release_v1",
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["mode"] == "iterative" and summary["summary"]["avg_iterations"] == 2.0
    run_dir = tmp_path / "benchmark_results" / summary["run_id"]
    finals = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    finals = [line for line in finals if line["complete"]]
    assert len(finals) == 2
    for sample in finals:
        first, second = sample["attempts"]
        # a random model writes no working code: a compile error, or (with no code at all) a wrong answer
        assert first["feedback"].startswith(("Your program is wrong", "Your program does not compile"))
        assert second["completion"]["prompt_tokens"] > first["completion"]["prompt_tokens"]
