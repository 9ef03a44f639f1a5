"""The ``plugins`` command: every loaded plugin, its version, and what it registered."""

from __future__ import annotations

import click

from bench_runner_core.api import GivesFeedback
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import plugin_versions
from bench_runner_core.records import RunConfig
from bench_runner_core.registry import CommandRegistrar


@click.command(name="plugins")
@click.pass_obj
def list_plugins(kernel: Kernel) -> None:
    """Every loaded plugin, its version, and what it registered."""
    versions = plugin_versions(kernel.pm)
    feedback = _giving_feedback(kernel)
    for plugin, owned in sorted(kernel.registry.by_plugin().items()):
        click.echo(f"{plugin}  ({versions.get(plugin, 'unknown version')})")
        for item in owned:
            name = item.partition(":")[2].split(" ")[0]
            mark = "  [feedback for iterative modes]" if item.startswith("benchmark:") and name in feedback else ""
            click.echo(f"    {item}{mark}")


def _giving_feedback(kernel: Kernel) -> set[str]:
    """Benchmarks whose objects implement ``GivesFeedback`` (factories are cheap: nothing is read until a run)."""
    names = set()
    for name, reg in kernel.registry.items["benchmark"].items():
        try:
            benchmark = reg.factory(RunConfig(benchmark=name, backend=""))
        except Exception:  # a benchmark that needs options to be made cannot be asked; it is listed unmarked
            continue
        if isinstance(benchmark, GivesFeedback):
            names.add(name)
    return names


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(list_plugins)
