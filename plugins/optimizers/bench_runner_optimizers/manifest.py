"""The optimization manifest: read, validated against the shipped JSON Schema, expanded into tasks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from bench_runner import BadInput
from bench_runner_optimizers.harness import Budget

SCHEMA_VERSION = 1
#: examples per split in test mode
TEST_MODE_COUNT = 5
DEFAULT_COUNTS = {"train": 50, "validation": 30, "test": 100}
BUDGET_KEYS = ("max_trials", "max_rollouts", "max_proposer_tokens")


@attrs.frozen(kw_only=True)
class TaskSpec:
    """One optimization: a dataset, an optimizer, a model and a seed, with its splits and budget."""

    id: str
    dataset: str
    optimizer: str
    model: str = ""
    proposer_model: str = ""
    seed: int = 0
    counts: Mapping[str, int] = attrs.field(factory=dict)
    sources: Mapping[str, str] = attrs.field(factory=dict)
    model_parameters: Mapping[str, Any] = attrs.field(factory=dict)
    optimizer_params: Mapping[str, Any] = attrs.field(factory=dict)
    prompt_params: Mapping[str, Any] = attrs.field(factory=dict)
    budget: Budget = attrs.field(factory=Budget)
    metrics: tuple[str, ...] = ()


def schema() -> dict[str, Any]:
    return json.loads(resources.files("bench_runner_optimizers").joinpath("manifest.schema.json").read_text())


def read(path: str) -> dict[str, Any]:
    """A manifest file, parsed and validated; ``BadInput`` with one line saying where it is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"manifest {path!r} does not exist", "pass the path of a JSON manifest to --config") from None
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        raise BadInput(f"manifest {path!r} is not valid JSON ({reason})", "fix the JSON syntax") from None
    validate(data, source=path)
    return data


def validate(data: Any, *, source: str) -> None:
    import jsonschema

    if isinstance(data, dict) and "tasks" not in data and "generators" not in data:
        raise BadInput(f"manifest {source} lists no tasks", "add tasks[] or generators[] with datasets and optimizers")
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(data))
    if errors:
        # The deepest error names the actual bad value; the shallow ones only repeat that its parent is bad.
        deepest = max(len(e.absolute_path) for e in errors)
        error = jsonschema.exceptions.best_match(e for e in errors if len(e.absolute_path) == deepest)
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise BadInput(
            f"manifest {source}: {where}: {error.message}",
            "fix it to match the schema (bench_runner_optimizers/manifest.schema.json)",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", Path(text).name if text.endswith(".gguf") else text).strip("-") or "default"


def expand(manifest: Mapping[str, Any]) -> list[TaskSpec]:
    """Every task of the manifest: listed ``tasks`` and ``generators`` expanded (datasets x optimizers x models),
    each repeated per seed of ``seeds``."""
    rows: list[dict[str, Any]] = [dict(t) for t in manifest.get("tasks", ())]
    for generator in manifest.get("generators", ()):
        common = {k: v for k, v in generator.items() if k not in ("datasets", "optimizers", "models", "splits")}
        if "splits" in generator:
            common["datasets"] = generator["splits"]
        for dataset in generator["datasets"]:
            for optimizer in generator["optimizers"]:
                for model in generator.get("models") or [""]:
                    rows.append({**common, "dataset": dataset, "optimizer": optimizer, "model": model})
    seeds = manifest.get("seeds") or [manifest.get("seed", 0)]
    tasks = []
    for row in rows:
        for seed in [row["seed"]] if "seed" in row else seeds:
            tasks.append(_task(manifest, row, seed, len(tasks)))
    if not tasks:
        raise BadInput("the manifest has no tasks", "add tasks[] or generators[] with datasets and optimizers")
    return tasks


def _task(manifest: Mapping[str, Any], row: Mapping[str, Any], seed: int, index: int) -> TaskSpec:
    splits = row.get("datasets", {})
    counts, sources = {}, {}
    for role in ("train", "validation", "test"):
        given = splits.get(role, {})
        counts[role] = TEST_MODE_COUNT if manifest.get("test_mode") else given.get("count", DEFAULT_COUNTS[role])
        sources[role] = given.get("split", role)
    if sources["test"] in (sources["train"], sources["validation"]):
        raise BadInput(
            f"task {row['dataset']}/{row['optimizer']}: the test examples come from the {sources['test']!r} split, "
            "which the optimizer also sees",
            "draw train and validation from other splits than test",
        )
    prompt_params = {**manifest.get("optimizer_prompt_params", {}), **row.get("optimizer_prompt_params", {})}
    budget = Budget(**{k: prompt_params[k] for k in BUDGET_KEYS if k in prompt_params})
    model = row.get("model", "")
    return TaskSpec(
        id=f"{index:03d}-{row['dataset']}-{row['optimizer']}-{_slug(model)}-s{seed}",
        dataset=row["dataset"],
        optimizer=row["optimizer"],
        model=model,
        proposer_model=row.get("proposer_model", manifest.get("proposer_model", "")),
        seed=seed,
        counts=counts,
        sources=sources,
        model_parameters={**manifest.get("model_parameters", {}), **row.get("model_parameters", {})},
        optimizer_params=dict(row.get("optimizer_params", {})),
        prompt_params={k: v for k, v in prompt_params.items() if k not in BUDGET_KEYS},
        budget=budget,
        metrics=tuple(row.get("metrics", ())),
    )
