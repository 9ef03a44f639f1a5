"""A campaign file expanded into tasks: one benchmark x one model x one set of settings, with rollouts."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog

from bench_runner_core.api import BadInput
from bench_runner_core.kernel import Kernel
from bench_runner_core.plugins.campaigns.schema import read_table, validate

log = structlog.get_logger()

TEST_MODE_LIMIT = 5
#: task fields the campaign itself uses; everything else is a run option
_CAMPAIGN_FIELDS = (
    "name",
    "rollouts",
    "timeout",
    "options",
    "model",
    "models",
    "benchmark",
    "benchmarks",
    "grid",
    "_grid",
)


@attrs.frozen(kw_only=True)
class Overrides:
    """Command-line flags that override the file."""

    parallel: int | None = None
    test_mode: bool | None = None
    seed: int | None = None
    models: tuple[str, ...] | None = None
    models_file: str | None = None
    results_dir: str | None = None


@attrs.frozen(kw_only=True)
class Task:
    """One benchmark x model x settings; each rollout is one ordinary run."""

    index: int
    source: str
    benchmark: str
    model: str | None
    display: str
    label: str
    settings: Mapping[str, Any]
    rollouts: int = 1
    timeout: float | None = None

    @property
    def key(self) -> str:
        return " | ".join(p for p in (self.benchmark, self.display, self.label) if p)


@attrs.frozen(kw_only=True)
class ModelEntry:
    """A model as a task will run it: its spec, display name and the settings it brings."""

    spec: str | None
    display: str
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    categories: tuple[str, ...] = ()
    enabled: bool = True


@attrs.frozen(kw_only=True)
class Campaign:
    """A checked, expanded campaign file."""

    name: str
    parallel: int
    seed: int
    test_mode: bool
    results_dir: str
    tasks: tuple[Task, ...]


def load(path: str, kernel: Kernel, overrides: Overrides) -> tuple[dict[str, Any], Campaign]:
    """The file as given and the campaign it expands to; ``BadInput`` (nothing started) on any problem."""
    file = Path(path)
    data = read_table(file, "campaign file")
    validate(data, str(path))
    return data, expand(data, kernel, overrides, base=file.parent, where=str(path))


def expand(data: Mapping[str, Any], kernel: Kernel, overrides: Overrides, *, base: Path, where: str) -> Campaign:
    seed = overrides.seed if overrides.seed is not None else int(data.get("seed", 0))
    test_mode = overrides.test_mode if overrides.test_mode is not None else bool(data.get("test_mode", False))
    results_dir = overrides.results_dir or data.get("results_dir") or "benchmark_results"
    defaults = dict(data.get("defaults", {}))
    default_settings = {
        **{k: v for k, v in defaults.items() if k not in _CAMPAIGN_FIELDS},
        **defaults.get("options", {}),
    }
    models_file = overrides.models_file or data.get("models_file")
    known = read_models_file(_under(base, models_file)) if models_file else {}
    folders = [_under(base, f) for f in data.get("model_folders", [])]
    tasks: list[Task] = []
    for source, benchmark, fields in _entries(data):
        own = {**{k: v for k, v in fields.items() if k not in _CAMPAIGN_FIELDS}, **fields.get("options", {})}
        own.update(fields.get("_grid", {}))
        choice = list(overrides.models) if overrides.models else fields.get("models", fields.get("model"))
        settings = {**default_settings, **own}
        for entry in select_models(choice, known, folders, settings, f"{where}: {source}"):
            run_settings = {**default_settings, **entry.settings, **own, "benchmark": benchmark}
            if entry.spec is not None:
                run_settings["model"] = entry.spec
            if test_mode:
                run_settings["limit"] = min(int(run_settings.get("limit") or TEST_MODE_LIMIT), TEST_MODE_LIMIT)
            run_settings["results_dir"] = results_dir
            _resolve_paths(run_settings, kernel, base)
            task = Task(
                index=len(tasks),
                source=source,
                benchmark=benchmark,
                model=entry.spec,
                display=entry.display,
                label=fields.get("name") or _label(own),
                settings=run_settings,
                rollouts=int(fields.get("rollouts", defaults.get("rollouts", 1))),
                timeout=fields.get("timeout", defaults.get("timeout")),
            )
            _check(kernel, task, where)
            tasks.append(task)
    seen: dict[str, Task] = {}
    for task in tasks:
        if task.key in seen:
            raise BadInput(
                f"{where}: {task.source} repeats {seen[task.key].source} ({task.key})",
                "drop one, or tell them apart with `name` or different settings",
            )
        seen[task.key] = task
    return Campaign(
        name=str(data["name"]),
        parallel=overrides.parallel or int(data.get("parallel", 1)),
        seed=seed,
        test_mode=test_mode,
        results_dir=results_dir,
        tasks=tuple(tasks),
    )


def _entries(data: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(source, benchmark, fields)`` for every task and every cell of every generator's grid."""
    out = [(f"task {i + 1}", t["benchmark"], dict(t)) for i, t in enumerate(data.get("tasks", []))]
    for i, gen in enumerate(data.get("generators", [])):
        grid = gen.get("grid", {})
        names = sorted(grid)
        for benchmark in gen["benchmarks"]:
            for values in itertools.product(*(grid[n] for n in names)):
                out.append((f"generator {i + 1}", benchmark, {**gen, "_grid": dict(zip(names, values, strict=True))}))
    return out


def _check(kernel: Kernel, task: Task, where: str) -> None:
    try:
        kernel.config({**task.settings, "seed": 0}, source=f"{where}: {task.source} ({task.benchmark}, {task.display})")
    except BadInput as exc:
        problem = exc.problem if where in exc.problem else f"{where}: {task.source} ({task.benchmark}): {exc.problem}"
        raise BadInput(problem, exc.fix) from None


def _resolve_paths(settings: dict[str, Any], kernel: Kernel, base: Path) -> None:
    """Files named in the campaign file are found beside it, wherever the campaign is started from."""
    paths = {name for name, option in kernel.plugin_options.items() if option.type == "path"} | {"model"}
    for name in paths & set(settings):
        value = settings[name]
        if isinstance(value, str) and not Path(value).expanduser().is_absolute() and (base / value).exists():
            settings[name] = str((base / value).resolve())


def _label(own: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in sorted(own.items()))


def _short(value: Any) -> str:
    """A file by its name (``a.gguf``, ``samples.jsonl``); anything else as written (``ollama/llama3``)."""
    if isinstance(value, str) and "://" not in value and (Path(value).is_absolute() or Path(value).is_file()):
        return Path(value).name
    return str(value)


def _under(base: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def read_models_file(path: Path) -> dict[str, ModelEntry]:
    """``models.toml``: short name -> model (spec, display name, categories, enabled, API key variable)."""
    data = read_table(path, "models file")
    validate(data, str(path), part="models_file")
    out = {}
    for name, raw in data["models"].items():
        settings = dict(raw.get("options", {}))
        if raw.get("backend"):
            settings["backend"] = raw["backend"]
        if raw.get("api_key_env"):
            settings["api_key_env"] = raw["api_key_env"]
        spec = raw["model"]
        if not Path(spec).is_absolute() and Path(spec).suffix.lower() == ".gguf" and (path.parent / spec).exists():
            spec = str(path.parent / spec)
        out[name] = ModelEntry(
            spec=spec,
            display=raw.get("name", name),
            settings=settings,
            categories=tuple(raw.get("categories", ())),
            enabled=raw.get("enabled", True),
        )
    return out


def select_models(
    choice: str | Sequence[str] | None,
    known: Mapping[str, ModelEntry],
    folders: Sequence[Path],
    settings: Mapping[str, Any],
    where: str,
) -> list[ModelEntry]:
    """The models a task's ``model``/``models`` names: specs, models-file names, ``all`` or ``@category``."""
    if choice is None:
        return [ModelEntry(spec=None, display=_short(settings.get("samples") or settings.get("backend") or "default"))]
    if choice == "all" or choice == ["all"]:
        found = discover(folders, settings.get("ollama_url"))
        if not found:
            raise BadInput(
                f'{where}: models = "all" found no models', "add GGUF folders to model_folders, or start Ollama"
            )
        return found
    if isinstance(choice, str) and choice.startswith("@"):
        chosen = [m for m in known.values() if m.enabled and choice[1:] in m.categories]
        if not chosen:
            raise BadInput(
                f"{where}: no enabled model in category {choice[1:]!r}", "add it to `categories` in the models file"
            )
        return chosen
    out = []
    for spec in [choice] if isinstance(choice, str) else choice:
        entry = known.get(spec, ModelEntry(spec=spec, display=_short(spec)))
        if entry.enabled:
            out.append(entry)
        else:
            log.warning("model_disabled", model=spec, where=where)
    return out


def discover(folders: Sequence[Path], ollama_url: str | None) -> list[ModelEntry]:
    """What ``bench_runner models`` lists: GGUF files (in ``folders`` and the usual caches), Ollama models."""
    from bench_runner_core.plugins.models import list_models

    out = []
    for model in list_models([str(f) for f in folders], ollama_url):
        if model.error:
            continue
        if model.source == "file":
            out.append(ModelEntry(spec=model.path, display=model.name))
        else:
            out.append(ModelEntry(spec=f"{model.source}/{model.name}", display=f"{model.source}/{model.name}"))
    return out


__all__ = ["Campaign", "ModelEntry", "Overrides", "Task", "discover", "expand", "load", "read_models_file"]
