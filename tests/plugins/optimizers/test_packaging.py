"""The plugin installs into, and uninstalls from, an environment holding only the kernel."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.kernel import ROOT, sh
from tests.plugins.optimizers.conftest import gsm8k_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer

pytestmark = pytest.mark.slow


def optimize_is_unknown(bench: Path, cwd: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_RUNNER_")}
    result = subprocess.run([bench, "optimize", "--help"], cwd=cwd, env=env, capture_output=True, text=True)
    return result.returncode == 2 and "optimize" in result.stderr


def test_installs_and_uninstalls_on_its_own(
    kernel_env: Path, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    bench, python = kernel_env / "bench_runner", kernel_env / "python"
    assert optimize_is_unknown(bench, tmp_path)

    sh(python, "-m", "pip", "install", "-q", ROOT / "plugins" / "optimizers")
    assert "optimizers  (bench-runner-optimizers 0.1.0)" in sh(bench, "plugins").stdout
    server = scripted(gsm8k_answers())
    run = sh(
        bench, "optimize", "--datasets", "gsm8k", "--optimizers", "few_shot", "meta_prompt",
        "--models", "openai/task", "--model-option", f"base_url={server.url}", "--test-mode", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    summary = json.loads(run.stdout)
    assert summary["complete"] and {r["optimizer"] for r in summary["table"]} == {"few_shot", "meta_prompt"}
    # the run read the demo data shipped inside the (non-editable) installed package
    assert (tmp_path / "benchmark_results" / summary["run_id"] / "cache.jsonl").exists()

    sh(python, "-m", "pip", "uninstall", "-y", "-q", "bench-runner-optimizers")
    assert optimize_is_unknown(bench, tmp_path)
    assert "optimizers" not in sh(bench, "plugins").stdout
