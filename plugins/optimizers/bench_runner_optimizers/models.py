"""Model specs (as campaigns take them) to started kernel backends, shared by the tasks of a run."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from bench_runner import RunConfig
from bench_runner_optimizers.rollouts import Model


def settings_for(spec: str, backends: Iterable[str]) -> dict[str, Any]:
    """``x.gguf`` -> the backend that claims it; ``openai/NAME``, ``ollama/NAME`` (any backend name) -> that
    backend and model; empty or ``default`` -> the embedded default model."""
    if spec in ("", "default"):
        return {}
    prefix, _, rest = spec.partition("/")
    if rest and prefix in set(backends):
        return {"backend": prefix, "model": rest}
    return {"model": spec}


def model_config(kernel: Any, settings: Mapping[str, Any], source: str) -> RunConfig:
    """A run config for a model. A text dataset is no kernel benchmark, so only its model half is checked then."""
    if settings["benchmark"] in kernel.registry.items["benchmark"]:
        return kernel.config(settings, source)
    from bench_runner_core.config import build_config
    from bench_runner_core.run import resolve_backend

    config = build_config(settings, kernel.plugin_options, source=source)
    return attrs.evolve(config, backend=resolve_backend(kernel.registry, config))


class Models:
    """Backends started on first use, one per (spec, parameters), closed together."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self._open: dict[str, Model] = {}

    def get(self, spec: str, parameters: Mapping[str, Any], *, benchmark: str) -> Model:
        key = json.dumps([spec, dict(parameters)], sort_keys=True, default=str)
        if key not in self._open:
            registry = self.kernel.registry
            settings = {"benchmark": benchmark, **dict(parameters), **settings_for(spec, registry.items["backend"])}
            config = model_config(self.kernel, settings, f"the model {spec or 'default'!r}")
            backend = registry.get("backend", config.backend).factory(config, None)
            try:
                facts = dict(backend.start())
            except BaseException:
                backend.close()
                raise
            style = config.prompt_style or backend.default_prompt_style()
            self._open[key] = Model(spec=spec or "default", config=config, backend=backend, style=style, facts=facts)
        return self._open[key]

    def close(self) -> None:
        for model in self._open.values():
            model.backend.close()
        self._open.clear()
