"""Every registered optimizer through the harness against the scripted server: within budget, reproducible."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

from bench_runner_optimizers import plugin
from bench_runner_optimizers.harness import Budget, BudgetExhausted
from bench_runner_optimizers.runner import optimizer_registry
from tests.plugins.optimizers.conftest import gsm8k_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer
from tests.plugins.optimizers.test_harness import harness

BUDGET = Budget(max_trials=4, max_rollouts=40, max_proposer_tokens=3000)


def registry() -> dict[str, Callable]:
    pm = pluggy.PluginManager("bench_runner")
    plugin.bench_runner_add_hookspecs(pm)
    pm.register(plugin)
    return optimizer_registry(pm)


def optimizers() -> list:
    names = sorted(registry())
    return [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name == "gepa" and importlib.util.find_spec("gepa") is None, reason="gepa is not installed"
            ),
        )
        for name in names
    ]


def run(name: str, server: ScriptedServer, cache: Path) -> tuple[str, str]:
    h = harness(server, cache, BUDGET)
    with contextlib.suppress(BudgetExhausted):
        registry()[name]().optimize(h)
    reason = h.exhausted.reason if h.exhausted else "completed"
    assert len(h.trials) <= BUDGET.max_trials
    assert h.usage["task"].calls <= BUDGET.max_rollouts
    assert h.usage["proposer"].tokens <= BUDGET.max_proposer_tokens
    assert h.best_score == max(h.trials.values())
    return reason, h.best.key


def test_builtins_are_registered() -> None:
    assert set(registry()) == {"few_shot", "meta_prompt", "evolutionary", "hierarchical_reflective", "gepa"}


@pytest.mark.parametrize("name", optimizers())
def test_optimizer_stays_in_budget_and_repeats(
    name: str, scripted: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    server = scripted(gsm8k_answers())
    reason, best = run(name, server, tmp_path / "a.jsonl")
    assert reason in ("completed", "max_trials", "max_rollouts", "max_proposer_tokens")
    sent = server.requests[:]
    task_calls = [r for r in sent if r["payload"]["model"] == "task"]
    assert 0 < len(task_calls) <= BUDGET.max_rollouts
    assert sum(r["usage"]["total_tokens"] for r in sent if r["payload"]["model"] == "proposer") <= 3000
    # a fresh cache and the same seed: the same requests (two at a time, so in any order), the same best prompt
    again = run(name, server, tmp_path / "b.jsonl")
    assert again == (reason, best)
    assert sorted(map(json.dumps, (r["payload"] for r in server.requests[len(sent) :]))) == sorted(
        map(json.dumps, (r["payload"] for r in sent))
    )
