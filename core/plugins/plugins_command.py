"""The ``plugins`` command: every loaded plugin, its version, and what it registered."""

from __future__ import annotations

import click

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.kernel import Kernel
from bench_runner_core.manager import plugin_versions
from bench_runner_core.registry import CommandRegistrar


@click.command(name="plugins")
@click.pass_obj
def list_plugins(kernel: Kernel) -> None:
    """Every loaded plugin, its version, and what it registered."""
    versions = plugin_versions(kernel.pm)
    for plugin, owned in sorted(kernel.registry.by_plugin().items()):
        click.echo(f"{plugin}  ({versions.get(plugin, 'unknown version')})")
        for item in owned:
            click.echo(f"    {item}")


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(list_plugins)
