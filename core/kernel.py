"""The kernel a command works with: the plugins, what they registered, and runs built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pluggy

from bench_runner_core.api import Option
from bench_runner_core.config import build_config
from bench_runner_core.records import RunConfig
from bench_runner_core.registry import Registry
from bench_runner_core.run import Run, resolve_backend
from bench_runner_core.store import RunStore, new_run_id


@attrs.define
class Kernel:
    """What ``click.pass_obj`` gives a command: plugin manager, registry, and the way to runs.

    ``pm.hook`` calls any hook, including the ones a plugin added with
    ``bench_runner_add_hookspecs``.
    """

    registry: Registry

    @property
    def pm(self) -> pluggy.PluginManager:
        return self.registry.pm

    @property
    def plugin_options(self) -> dict[str, Option]:
        """Option name -> the ``Option`` a plugin declared."""
        return {name: option for name, (option, _) in self.registry.options.items()}

    def config(self, settings: Mapping[str, Any], source: str = "the settings") -> RunConfig:
        """A validated ``RunConfig`` from option values keyed like a config file; the backend is resolved.

        ``source`` names where the settings came from in error messages. ``BadInput`` on any bad value.
        """
        config = build_config(settings, self.plugin_options, source=source)
        benchmark = self.registry.get("benchmark", config.benchmark).name  # an alias becomes the name
        config = attrs.evolve(config, benchmark=benchmark)
        return attrs.evolve(config, backend=resolve_backend(self.registry, config))

    def new_run(self, config: RunConfig, run_id: str | None = None) -> Run:
        """A run of ``config``, not started yet: call ``execute()``."""
        return Run(registry=self.registry, config=config, run_id=run_id or new_run_id())

    def resume_run(self, run_id: str, results_dir: str = "benchmark_results") -> Run:
        """The interrupted run ``run_id`` with its recorded configuration; ``execute()`` finishes it."""
        config, start_time = RunStore(results_dir).load_config(run_id)
        return Run(registry=self.registry, config=config, run_id=run_id, resumed=True, start_time=start_time)


__all__ = ["Kernel"]
