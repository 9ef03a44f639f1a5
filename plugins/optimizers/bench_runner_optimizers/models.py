"""Model specs (as campaigns take them) to started kernel backends, shared by the tasks of a run.

The run's engine decides where a model generates: an engine that places work
(``ray``) gets the backend through ``place_backend`` and returns a stand-in,
so an in-process GGUF loads on a cluster node (asking for a GPU when
``gpu_layers`` is set) while the cache and the checkpoint stay here.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from bench_runner import Backend, PlacesWork, RunConfig
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


def engine_settings(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The run's engine and its options as bench_runner settings (``{"engine": "ray", "ray_address": ...}``)."""
    return {"engine": manifest.get("engine") or "local", **dict(manifest.get("engine_options") or {})}


def check_engine(kernel: Any, manifest: Mapping[str, Any]) -> None:
    """Fail before anything starts when the engine is unknown or cannot run here (``ray`` not installed)."""
    from bench_runner_core.config import build_config

    settings = {"benchmark": "optimize", **engine_settings(manifest)}
    config = build_config(settings, kernel.plugin_options, source="the engine options")
    kernel.registry.get("engine", config.engine).factory(config)


def placing_engine(kernel: Any, config: RunConfig) -> PlacesWork | None:
    """The config's engine when it decides where work runs (a cluster), else None: work stays in this process."""
    engine = kernel.registry.get("engine", config.engine).factory(config)
    return engine if isinstance(engine, PlacesWork) else None


def _make_backend(factory: Any, config: RunConfig) -> Backend:
    # module-level, so an engine can ship it to another process or machine
    return factory(config, None)


class Models:
    """Backends started on first use, one per (spec, parameters), each closed when no task needs it any more."""

    def __init__(self, kernel: Any, engine: Mapping[str, Any] | None = None) -> None:
        self.kernel = kernel
        self.engine = dict(engine or {})
        self._open: dict[str, Model] = {}
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}

    @staticmethod
    def key(spec: str, parameters: Mapping[str, Any]) -> str:
        return json.dumps([spec, dict(parameters)], sort_keys=True, default=str)

    def get(self, spec: str, parameters: Mapping[str, Any], *, benchmark: str) -> Model:
        key = self.key(spec, parameters)
        with self._lock:
            starting = self._starting.setdefault(key, threading.Lock())
        # one start per model; tasks of other models do not wait for it (a cluster may be placing it)
        with starting:
            if key not in self._open:
                self._open[key] = self._start(spec, parameters, benchmark)
            return self._open[key]

    def _start(self, spec: str, parameters: Mapping[str, Any], benchmark: str) -> Model:
        registry = self.kernel.registry
        settings = {
            "benchmark": benchmark,
            **self.engine,
            **dict(parameters),
            **settings_for(spec, registry.items["backend"]),
        }
        config = model_config(self.kernel, settings, f"the model {spec or 'default'!r}")
        factory = registry.get("backend", config.backend).factory
        backend = factory(config, None)
        engine = placing_engine(self.kernel, config)
        if engine is not None:
            backend = engine.place_backend(backend, functools.partial(_make_backend, factory, config))
        try:
            facts = dict(backend.start())
        except BaseException:
            backend.close()
            raise
        style = config.prompt_style or backend.default_prompt_style()
        return Model(spec=spec or "default", config=config, backend=backend, style=style, facts=facts)

    def release(self, spec: str, parameters: Mapping[str, Any]) -> None:
        """Close one model (no task left needs it): its memory, or its GPU on a cluster, goes to the next."""
        model = self._open.pop(self.key(spec, parameters), None)
        if model is not None:
            model.backend.close()

    def close(self) -> None:
        for model in list(self._open.values()):
            model.backend.close()
        self._open.clear()
