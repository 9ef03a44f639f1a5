"""``evolutionary``: a population of prompts, LLM mutation and crossover, selection by validation score."""

from __future__ import annotations

from typing import Any

from bench_runner_optimizers.harness import Candidate, Harness
from bench_runner_optimizers.optimizers._text import TAG_RULE, extract_prompt


class Evolutionary:
    """Elitist evolution: children come from tournament-selected parents, by crossover with probability
    ``crossover_rate`` else by mutation; the best ``population_size`` of parents and children survive."""

    def __init__(self, *, population_size: int = 4, num_generations: int = 3, crossover_rate: float = 0.5) -> None:
        self.population_size = population_size
        self.num_generations = num_generations
        self.crossover_rate = crossover_rate

    def optimize(self, harness: Harness) -> None:
        size = int(harness.params.get("population_size", self.population_size))
        generations = int(harness.params.get("num_generations", self.num_generations))
        rng = harness.rng
        harness.trial(harness.baseline)
        population = [harness.baseline]
        while len(population) < size:
            population.append(self._mutate(harness, harness.baseline))
            harness.trial(population[-1])
        for _ in range(generations):
            children = []
            for _ in range(size):
                if len(population) > 1 and rng.random() < self.crossover_rate:
                    a, b = self._pick(harness, population), self._pick(harness, population)
                    child = self._crossover(harness, a, b)
                else:
                    child = self._mutate(harness, self._pick(harness, population))
                harness.trial(child)
                children.append(child)
            pool = {c.key: c for c in (*population, *children)}.values()
            population = sorted(pool, key=lambda c: -harness.trials[c.key])[:size]

    def _pick(self, harness: Harness, population: list[Candidate]) -> Candidate:
        a, b = harness.rng.choice(population), harness.rng.choice(population)
        return a if harness.trials[a.key] >= harness.trials[b.key] else b

    def _mutate(self, harness: Harness, parent: Candidate) -> Candidate:
        reply = harness.generate(
            f"Task: {harness.task_description}\n\nHere is a system prompt for this task:\n\n{parent.instruction}\n\n"
            "Write a variation of it: change its wording, emphasis or strategy so it could work better, "
            f"keeping what the task needs. {TAG_RULE}"
        )
        return Candidate(instruction=extract_prompt(reply, parent.instruction), demos=parent.demos)

    def _crossover(self, harness: Harness, a: Candidate, b: Candidate) -> Candidate:
        reply = harness.generate(
            f"Task: {harness.task_description}\n\nTwo system prompts for this task:\n\nPrompt 1:\n{a.instruction}\n\n"
            f"Prompt 2:\n{b.instruction}\n\nWrite one prompt that combines the best parts of both. {TAG_RULE}"
        )
        return Candidate(instruction=extract_prompt(reply, a.instruction), demos=a.demos)


def factory(**params: Any) -> Evolutionary:
    return Evolutionary(**params)
