"""The hook this plugin adds to bench_runner (through ``bench_runner_add_hookspecs``): optimizer registration."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("bench_runner")


@hookspec
def bench_runner_register_optimizers(register) -> None:  # type: ignore[no-untyped-def]
    """Register prompt optimizers for ``bench_runner optimize``.

    Called once, when the command runs. Call ``register(name, factory, description="")``
    once per optimizer. ``factory(**optimizer_params) -> Optimizer`` takes the
    manifest's ``optimizer_params`` (constructor overrides) and must be cheap.
    An ``Optimizer`` has one method, ``optimize(harness) -> None``: it improves
    the prompt through ``harness.trial``, ``harness.evaluate`` and
    ``harness.generate`` (see ``bench_runner_optimizers.harness``). The best
    trial is the result; the harness stops the optimizer, by raising
    ``BudgetExhausted`` inside it, when it asks past its budget. Returns nothing;
    a name registered twice is an error.
    """
