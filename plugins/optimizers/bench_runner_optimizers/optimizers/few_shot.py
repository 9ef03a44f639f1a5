"""``few_shot``: Bayesian search (optuna TPE) over which train examples to show, and how many."""

from __future__ import annotations

from typing import Any

from bench_runner_optimizers.harness import Candidate, Harness


class FewShot:
    """Each trial picks up to ``max_demos`` worked examples from a pool of ``pool_size`` train examples.

    Examples with a gold worked reply use it. A dataset without one (code
    benchmarks) gets its pool by bootstrapping: the baseline prompt is run on
    train examples and the replies that passed become the demos.
    """

    def __init__(self, *, max_demos: int = 4, pool_size: int = 12) -> None:
        self.max_demos = max_demos
        self.pool_size = pool_size

    def optimize(self, harness: Harness) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        harness.trial(harness.baseline)
        pool = self._pool(harness)
        if not pool:
            return
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=harness.seed))
        ids = sorted(pool)
        most = min(self.max_demos, len(ids))
        # Repeated picks cost no trial, so bound the loop by proposals, not only by the budget.
        for _ in range(4 * harness.budget.max_trials):
            trial = study.ask()
            count = trial.suggest_int("count", 1, most)
            picked: list[str] = []
            for slot in range(most):
                choice = trial.suggest_categorical(f"demo_{slot}", ids)
                if slot < count and choice not in picked:
                    picked.append(choice)
            candidate = Candidate(instruction=harness.baseline.instruction, demos=[(i, pool[i]) for i in picked])
            study.tell(trial, harness.trial(candidate))

    def _pool(self, harness: Harness) -> dict[str, str]:
        train = harness.train[: self.pool_size]
        pool = {e.id: e.demo for e in train if e.demo}
        if pool:
            return pool
        evaluations = harness.evaluate(harness.baseline, train)
        return {e.example_id: e.output for e in evaluations if e.score >= 1.0}


def factory(**params: Any) -> FewShot:
    return FewShot(**params)
