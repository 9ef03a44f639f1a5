"""Manifests: the shipped schema, one-line errors, and expansion into tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_runner import BadInput
from bench_runner_optimizers import manifest


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_generators_expand_datasets_optimizers_models_and_seeds(tmp_path: Path) -> None:
    data = manifest.read(
        write(
            tmp_path,
            {
                "seeds": [1, 2],
                "test_mode": True,
                "optimizer_prompt_params": {"max_trials": 3},
                "generators": [
                    {"datasets": ["gsm8k", "bbh"], "optimizers": ["few_shot", "meta_prompt"], "models": ["a.gguf"]}
                ],
                "tasks": [
                    {
                        "dataset": "ai2_arc",
                        "optimizer": "evolutionary",
                        "model": "openai/gpt-x",
                        "seed": 7,
                        "datasets": {"train": {"count": 9}, "test": {"count": 4, "split": "test"}},
                        "optimizer_prompt_params": {"max_rollouts": 50, "population_size": 3},
                        "optimizer_params": {"crossover_rate": 0.2},
                    }
                ],
            },
        )
    )
    tasks = manifest.expand(data)
    assert len(tasks) == 1 + 2 * 2 * 2
    arc = tasks[0]
    assert (arc.seed, arc.model, arc.budget.max_trials, arc.budget.max_rollouts) == (7, "openai/gpt-x", 3, 50)
    assert arc.counts == {"train": 5, "validation": 5, "test": 5}  # test mode wins
    assert arc.prompt_params == {"population_size": 3} and arc.optimizer_params == {"crossover_rate": 0.2}
    assert {t.seed for t in tasks[1:]} == {1, 2}
    assert len({t.id for t in tasks}) == len(tasks)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"generators": [{"datasets": ["gsm8k"]}]}, "'optimizers' is a required property"),
        ({"tasks": [{"dataset": "gsm8k", "optimizer": "x", "colour": 1}]}, "colour"),
        ({"seed": "one", "tasks": []}, "seed: 'one' is not of type 'integer'"),
        ({"tasks": [{"dataset": "g", "optimizer": "x", "optimizer_prompt_params": {"max_trials": 0}}]}, "max_trials"),
        ({}, "tasks"),
    ],
)
def test_schema_errors_are_one_line(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        manifest.read(write(tmp_path, data))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_unreadable_manifests(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        manifest.read(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(BadInput, match="not valid JSON"):
        manifest.read(str(bad))


def test_test_split_may_not_feed_the_optimizer() -> None:
    data = {"tasks": [{"dataset": "gsm8k", "optimizer": "x", "datasets": {"train": {"split": "test"}}}]}
    with pytest.raises(BadInput, match="also sees"):
        manifest.expand(data)
