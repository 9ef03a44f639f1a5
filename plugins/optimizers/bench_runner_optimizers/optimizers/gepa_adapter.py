"""``gepa``: GEPA's reflective Pareto search (the ``gepa`` library, an optional extra) behind the harness.

GEPA drives the search; every model call it makes goes through the harness, so
the budget, the cache and the split rules hold as for the built-in optimizers.
A GEPA evaluation of the whole validation set is a trial.
"""

from __future__ import annotations

import inspect
from typing import Any

import structlog

from bench_runner import BadInput
from bench_runner_optimizers.datasets import Example
from bench_runner_optimizers.harness import Candidate, Harness

COMPONENT = "system_prompt"


class _Adapter:
    """A ``gepa.core.adapter.GEPAAdapter``: the candidate is one component, the system prompt."""

    propose_new_texts = None

    def __init__(self, harness: Harness) -> None:
        self.harness = harness

    def _candidate(self, texts: dict[str, str]) -> Candidate:
        return Candidate(instruction=texts[COMPONENT], demos=self.harness.baseline.demos)

    def evaluate(self, batch: list[Example], candidate: dict[str, str], capture_traces: bool = False) -> Any:
        from gepa import EvaluationBatch

        chosen = self._candidate(candidate)
        if {e.id for e in batch} == {e.id for e in self.harness.validation}:
            self.harness.trial(chosen)
        evaluations = self.harness.evaluate(chosen, batch)
        trajectories = (
            [{"example": e, "evaluation": r} for e, r in zip(batch, evaluations, strict=True)]
            if capture_traces
            else None
        )
        return EvaluationBatch(
            outputs=[r.output for r in evaluations], scores=[r.score for r in evaluations], trajectories=trajectories
        )

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: Any, components_to_update: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        from bench_runner_optimizers.optimizers._text import question_text

        rows = [
            {
                "Inputs": question_text(t["example"]),
                "Generated Outputs": t["evaluation"].output[:600],
                "Feedback": t["evaluation"].feedback,
            }
            for t in eval_batch.trajectories or ()
        ]
        return {name: rows for name in components_to_update}


class _Log:
    """GEPA's logger protocol, onto structlog (stderr): GEPA would print its progress on stdout."""

    def log(self, message: str) -> None:
        structlog.get_logger().debug("gepa", message=message)


class Gepa:
    """Runs ``gepa.optimize`` with the harness's proposer as the reflection model."""

    def __init__(self, *, minibatch: int = 3, **gepa_options: Any) -> None:
        self.minibatch = minibatch
        self.gepa_options = gepa_options

    def optimize(self, harness: Harness) -> None:
        try:
            import gepa
        except ImportError:
            raise BadInput(
                "the gepa optimizer needs the gepa library", "pip install './plugins/optimizers[gepa]'"
            ) from None
        harness.trial(harness.baseline)
        options: dict[str, Any] = {
            "seed_candidate": {COMPONENT: harness.baseline.instruction},
            "trainset": list(harness.train),
            "valset": list(harness.validation),
            "adapter": _Adapter(harness),
            "reflection_lm": lambda prompt: harness.generate(prompt),
            "reflection_minibatch_size": self.minibatch,
            # The harness stops GEPA; this only keeps GEPA from stopping earlier on its own count.
            "max_metric_calls": harness.budget.max_rollouts * 2,
            "seed": harness.seed,
            "raise_on_exception": True,
            "display_progress_bar": False,
            "logger": _Log(),
            # Once the harness has refused a call, GEPA's later iterations could only be refused too.
            "stop_callbacks": [lambda _state: harness.exhausted is not None],
            **self.gepa_options,
        }
        accepted = inspect.signature(gepa.optimize).parameters
        gepa.optimize(**{k: v for k, v in options.items() if k in accepted})


def factory(**params: Any) -> Gepa:
    return Gepa(**params)
