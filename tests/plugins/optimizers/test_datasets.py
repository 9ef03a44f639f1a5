"""The text datasets from the shared data and from the shipped demo subsets: splits, templates, gold answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_runner import BadInput
from bench_runner_optimizers.datasets import LOADERS, load_text_dataset

NAMES = sorted(LOADERS)


@pytest.mark.parametrize("name", NAMES)
def test_splits_are_disjoint_and_gold_answers_score(name: str, shared_data: Path) -> None:
    for source in (shared_data, None):
        dataset = load_text_dataset(name, source)
        ids = {split: {e.id for e in examples} for split, examples in dataset.splits.items()}
        assert all(ids.values()), f"{name}: an empty split"
        assert not ids["train"] & ids["test"] and not ids["validation"] & ids["test"]
        assert not ids["train"] & ids["validation"]
        for example in dataset.splits["train"][:20]:
            # the worked reply shown as a demo must itself score full marks
            assert dataset.score(example, example.demo).score == 1.0, (name, example.id, example.demo)
            assert dataset.score(example, "I cannot tell.").score < 1.0


def test_demo_subsets_are_prefixes_of_the_full_files(shared_data: Path) -> None:
    for name in NAMES:
        full, demo = load_text_dataset(name, shared_data), load_text_dataset(name, None)
        for split, examples in demo.splits.items():
            full_ids = [e.id for e in full.splits[split]]
            assert all(e.id in set(full_ids) for e in examples), (name, split)
            assert sum(len(x) for x in demo.splits.values()) <= 400


def test_full_split_sizes(shared_data: Path) -> None:
    sizes = {name: {s: len(x) for s, x in load_text_dataset(name, shared_data).splits.items()} for name in NAMES}
    assert sizes["gsm8k"] == {"train": 6726, "validation": 747, "test": 1319}
    assert sizes["hotpot_300"] == {"train": 300, "validation": 300, "test": 500}
    assert sizes["ai2_arc"]["test"] == 1150
    assert sum(sizes["bbh"].values()) == 6511
    assert sum(sizes["math"].values()) == 500


def test_hotpot_prompt_carries_its_context(shared_data: Path) -> None:
    example = load_text_dataset("hotpot_300", shared_data).splits["test"][0]
    text = example.messages[-1].content
    assert text.startswith("Context:\n") and "Question: " in text and text.count("\n") >= 10


def test_missing_data_dir_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_text_dataset("gsm8k", tmp_path)
