"""One load of an in-process model for back-to-back runs, and the memory check before loading another."""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from bench_runner_core.api import Backend
from bench_runner_core.kernel import Kernel
from bench_runner_core.records import GenerationRequest, RunConfig

#: a model needs about its file size in memory, plus context and compute buffers
MEMORY_FACTOR = 1.2


def local_model(config: RunConfig) -> Path | None:
    """The GGUF file a run loads on this machine, if it loads one."""
    model = config.model
    if not model or not model.lower().endswith(".gguf"):
        return None
    path = Path(model).expanduser()
    return path if path.is_file() else None


def share_key(kernel: Kernel, config: RunConfig) -> Hashable | None:
    """Runs with equal keys can share one loaded backend: same backend, same file, same load options.

    The load options are the options the backend's own plugin declares; sampling
    settings travel with each request, so they do not split a load.
    """
    path = local_model(config)
    if path is None:
        return None
    plugin = kernel.registry.get("backend", config.backend).plugin
    load = tuple(
        sorted(
            (name, repr(config.options.get(name)))
            for name, (_, owner) in kernel.registry.options.items()
            if owner == plugin
        )
    )
    return (config.backend, os.path.realpath(path), load)


def memory_needed(config: RunConfig) -> int:
    path = local_model(config)
    return int(path.stat().st_size * MEMORY_FACTOR) if path is not None else 0


class SharedBackend:
    """A backend that is started once and closed by the cache, not by each run that uses it."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.uses = 0
        self._facts: Mapping[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._facts is not None

    @property
    def concurrency(self) -> int:
        return self.inner.concurrency

    def start(self) -> Mapping[str, Any]:
        with self._lock:
            if self._facts is None:
                self._facts = dict(self.inner.start())
            self.uses += 1
            return {**self._facts, "shared_load": self.uses > 1}

    def default_prompt_style(self) -> Any:
        return self.inner.default_prompt_style()

    def generate(self, request: GenerationRequest) -> Any:
        return self.inner.generate(request)

    def close(self) -> None:
        """A run ends; the load stays for the next run that needs it (``BackendCache.release``)."""


class BackendCache:
    """Loaded backends by share key; a backend is closed once no queued run needs it."""

    def __init__(self) -> None:
        self._loaded: dict[Hashable, SharedBackend] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable, fresh: Backend) -> SharedBackend:
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = SharedBackend(fresh)
            return self._loaded[key]

    def loaded(self, key: Hashable) -> bool:
        with self._lock:
            shared = self._loaded.get(key)
            return shared is not None and shared.loaded

    def release(self, key: Hashable, keep: bool) -> None:
        with self._lock:
            shared = None if keep else self._loaded.pop(key, None)
        if shared is not None:
            shared.inner.close()

    def close_all(self) -> None:
        with self._lock:
            loaded, self._loaded = list(self._loaded.values()), {}
        for shared in loaded:
            shared.inner.close()


__all__ = ["BackendCache", "SharedBackend", "local_model", "memory_needed", "share_key"]
