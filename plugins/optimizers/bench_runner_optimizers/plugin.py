"""The entry point: the optimizer hook, the built-in optimizers and the `optimize` command. Nothing heavy loads."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from bench_runner import hookimpl

BUILTINS = {
    "few_shot": ("few_shot", "Bayesian search (optuna TPE) over which and how many worked examples to show"),
    "meta_prompt": ("meta_prompt", "an LLM rewrites the prompt from the scored history (OPRO)"),
    "evolutionary": ("evolutionary", "a population of prompts, LLM mutation and crossover, selection by score"),
    "hierarchical_reflective": (
        "reflective",
        "failure batches -> root causes -> one targeted fix each, kept only if it scores better",
    ),
    "gepa": ("gepa_adapter", "GEPA reflective Pareto search (pip install './plugins/optimizers[gepa]')"),
}


def _lazy(module: str) -> Callable[..., Any]:
    def factory(**params: Any) -> Any:
        return importlib.import_module(f"bench_runner_optimizers.optimizers.{module}").factory(**params)

    return factory


@hookimpl
def bench_runner_add_hookspecs(pluginmanager: Any) -> None:
    from bench_runner_optimizers import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def bench_runner_register_optimizers(register: Any) -> None:
    for name, (module, description) in BUILTINS.items():
        register(name, _lazy(module), description=description)


@hookimpl
def bench_runner_register_commands(register: Any) -> None:
    from bench_runner_optimizers.cli import optimize

    register(optimize)
