"""The harness against a real HTTP server: budgets stop before anything is sent, the cache re-asks nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench_runner import RunConfig
from bench_runner_core.plugins.openai import OpenAIBackend
from bench_runner_optimizers.datasets import load_text_dataset
from bench_runner_optimizers.harness import Budget, BudgetExhausted, Candidate, Harness
from bench_runner_optimizers.rollouts import Cache, Model, ModelCalls
from tests.plugins.optimizers.conftest import gsm8k_answers
from tests.plugins.optimizers.scripted_server import ScriptedServer


def model(url: str, name: str) -> Model:
    config = RunConfig(benchmark="gsm8k", backend="openai", model=name, options={"base_url": url})
    backend = OpenAIBackend(config)
    return Model(spec=f"openai/{name}", config=config, backend=backend, style="chat", facts=backend.start())


def harness(server: ScriptedServer, cache: Path, budget: Budget) -> Harness:
    dataset = load_text_dataset("gsm8k", None)
    calls = ModelCalls(model=model(server.url, "task"), dataset=dataset, cache=Cache(cache), max_concurrent=2)
    proposer = ModelCalls(model=model(server.url, "proposer"), dataset=dataset, cache=Cache(cache))
    return Harness(
        rollouts=calls,
        proposer=proposer,
        train=dataset.splits["train"][:5],
        validation=dataset.splits["validation"][:5],
        baseline=Candidate(instruction=dataset.instruction),
        budget=budget,
        seed=1,
        task_description="gsm8k",
        params={},
    )


def task_requests(server: ScriptedServer) -> list[dict]:
    return [r for r in server.requests if r["payload"]["model"] == "task"]


def test_rollout_budget_stops_before_sending(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    h = harness(server, tmp_path / "cache.jsonl", Budget(max_trials=5, max_rollouts=7))
    score = h.trial(h.baseline)
    assert 0.0 <= score <= 1.0 and len(task_requests(server)) == 5
    assert h.trial(h.baseline) == score and len(h.trials) == 1  # the same candidate again costs nothing
    with pytest.raises(BudgetExhausted) as stopped:
        h.trial(Candidate(instruction="Answer briefly."))
    assert stopped.value.reason == "max_rollouts"
    assert len(task_requests(server)) == 5 and h.rollouts_used == 5


def test_trial_budget(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    h = harness(server, tmp_path / "cache.jsonl", Budget(max_trials=2))
    h.trial(h.baseline)
    h.trial(Candidate(instruction="Be careful."))
    with pytest.raises(BudgetExhausted, match="max_trials"):
        h.trial(Candidate(instruction="Be brief."))
    assert len(task_requests(server)) == 10


def test_proposer_tokens_never_pass_the_budget(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    h = harness(server, tmp_path / "cache.jsonl", Budget(max_proposer_tokens=400))
    with pytest.raises(BudgetExhausted, match="max_proposer_tokens"):
        for i in range(100):
            h.generate(f"Write prompt number {i}.")
    sent = [r for r in server.requests if r["payload"]["model"] == "proposer"]
    assert sent and sum(r["usage"]["total_tokens"] for r in sent) <= 400
    assert h.usage["proposer"].tokens == sum(r["usage"]["total_tokens"] for r in sent)


def test_test_examples_are_refused(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    h = harness(server, tmp_path / "cache.jsonl", Budget())
    test_item = load_text_dataset("gsm8k", None).splits["test"][0]
    with pytest.raises(ValueError, match="not a train or validation example"):
        h.evaluate(h.baseline, [test_item])
    with pytest.raises(ValueError, match="demo"):
        h.evaluate(Candidate(instruction="x", demos=[(test_item.id, "The answer is 1.")]), h.validation)
    assert server.requests == []


def test_cache_replays_a_session(scripted: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    server = scripted(gsm8k_answers())
    first = harness(server, tmp_path / "cache.jsonl", Budget())
    scores = [first.trial(first.baseline), first.trial(Candidate(instruction=first.generate("Improve the prompt.")))]
    sent = len(server.requests)
    again = harness(server, tmp_path / "cache.jsonl", Budget())
    replay = [again.trial(again.baseline), again.trial(Candidate(instruction=again.generate("Improve the prompt.")))]
    assert replay == scores and len(server.requests) == sent
    assert again.usage["task"].calls == first.usage["task"].calls == 10
    assert again.usage["proposer"].tokens == first.usage["proposer"].tokens > 0
