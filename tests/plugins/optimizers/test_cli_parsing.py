"""Flag parsing in-process: several values after one flag, the opik-style aliases, flags over a manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench_runner import BadInput
from bench_runner_optimizers.cli import build_manifest, optimize


def params(*args: str) -> dict:
    return optimize.make_context("optimize", list(args)).params


def test_several_values_after_one_flag() -> None:
    values = params(
        "--datasets", "gsm8k", "hotpot_300", "--optimizers", "few_shot", "meta_prompt",
        "--models", "a.gguf", "openai/b", "--test-mode", "--max-concurrent", "4", "--seed", "42",
    )  # fmt: skip
    assert values["datasets"] == ("gsm8k", "hotpot_300") and values["models"] == ("a.gguf", "openai/b")
    manifest = build_manifest(values)
    (generator,) = manifest["generators"]
    assert generator["datasets"] == ["gsm8k", "hotpot_300"] and generator["optimizers"] == ["few_shot", "meta_prompt"]
    assert generator["models"] == ["a.gguf", "openai/b"]
    assert (manifest["seed"], manifest["test_mode"], manifest["max_concurrent"]) == (42, True, 4)


def test_repeated_flags_add_up_and_several_seeds_become_seeds() -> None:
    values = params("--datasets", "gsm8k", "--datasets", "bbh", "--optimizers", "few_shot", "--seed", "1", "2", "3")
    assert values["datasets"] == ("gsm8k", "bbh")
    assert build_manifest(values)["seeds"] == [1, 2, 3]


def test_opik_spellings() -> None:
    values = params("--demo-datasets", "gsm8k", "--optimizers", "few_shot", "--resume-run-id", "opt_x")
    assert values["datasets"] == ("gsm8k",) and values["resume"] == "opt_x"
    assert params("--retry-failed-run-id", "opt_y")["retry_failed"] == "opt_y"


def test_budget_and_model_options_land_in_the_manifest() -> None:
    values = params(
        "--datasets", "gsm8k", "--optimizers", "few_shot", "--max-trials", "3", "--max-rollouts", "20",
        "--model-option", "max_tokens=64", "base_url=http://127.0.0.1:9/v1",
    )  # fmt: skip
    manifest = build_manifest(values)
    assert manifest["optimizer_prompt_params"] == {"max_trials": 3, "max_rollouts": 20}
    assert manifest["model_parameters"] == {"max_tokens": 64, "base_url": "http://127.0.0.1:9/v1"}


def test_engine_flags_land_in_the_manifest() -> None:
    values = params(
        "--datasets", "gsm8k", "--optimizers", "few_shot",
        "--engine", "ray", "--ray-address", "auto", "--parallel", "3",
    )  # fmt: skip
    manifest = build_manifest(values)
    assert (manifest["engine"], manifest["engine_options"], manifest["parallel"]) == ("ray", {"ray_address": "auto"}, 3)


def test_flags_override_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"seed": 1, "tasks": [{"dataset": "gsm8k", "optimizer": "few_shot"}]}))
    manifest = build_manifest(params("--config", str(path), "--seed", "9", "--max-rollouts", "5"))
    assert manifest["seed"] == 9 and manifest["tasks"] == [{"dataset": "gsm8k", "optimizer": "few_shot"}]
    assert manifest["optimizer_prompt_params"] == {"max_rollouts": 5}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--datasets", "gsm8k"), "--datasets and --optimizers go together"),
        ((), "nothing to optimize"),
        (("--datasets", "gsm8k", "--optimizers", "x", "--model-option", "oops"), "not KEY=VALUE"),
    ],
)
def test_bad_flags_are_one_line(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        build_manifest(params(*args))


@pytest.mark.parametrize("args", [["--help"], ["optimize", "--help"]])
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    code = (
        "import sys, bench_runner\n"
        f"try:\n    bench_runner.main({args!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('optuna', 'jsonschema', 'gepa', 'numpy', 'llama_cpp')\n"
        "print('IMPORTED', [m for m in sys.modules if m.split('.')[0] in heavy], file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_RUNNER_")}
    env["BENCH_RUNNER_LOAD_PLUGINS"] = "optimizers"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert "IMPORTED []" in result.stderr, result.stderr[-2000:]
    assert "optimize" in result.stdout
