"""``bench_runner data fetch|list|path`` over every registered dataset, and the data pin of a run.

A run whose benchmark reports ``metadata()["data"]`` (a ``DataSnapshot.pin()``)
gets that pin written to ``<run_dir>/data.json`` when it starts. A resumed run
compares its own pin with it and refuses to continue on other data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bench_runner_core.api import BadInput
from bench_runner_core.datasets import Dataset, DataSnapshot
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import SCHEMA_VERSION, RunInfo
from bench_runner_core.registry import CommandRegistrar

if TYPE_CHECKING:
    from bench_runner_core.kernel import Kernel

PIN_FILE = "data.json"


def _dataset(kernel: Kernel, name: str) -> Dataset:
    return kernel.registry.get("dataset", name).factory()


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _echo_snapshot(snapshot: DataSnapshot) -> None:
    revision = f"  revision {snapshot.revision}" if snapshot.revision and snapshot.revision != snapshot.version else ""
    click.echo(f"{snapshot.dataset}  {snapshot.version}{revision}  {_size(snapshot.size)}  {snapshot.path}")
    for f in snapshot.files:
        click.echo(f"    {f.name}  {_size(f.size)}  sha256 {f.sha256}")


VERSION_HELP = "the version to use (lcb: release_v1 ... release_v6, vN; humaneval_plus: v0.1.10). Default: the latest"


@click.group(name="data")
def data_group() -> None:
    """Benchmark data: fetch it, see what is cached, find its files."""


@data_group.command(name="fetch")
@click.argument("name")
@click.option("--release-version", "version", default=None, help=VERSION_HELP)
@click.pass_obj
def fetch_command(kernel: Kernel, name: str, version: str | None) -> None:
    """Download NAME's files (unless cached), verify and cache them."""
    _echo_snapshot(_dataset(kernel, name).fetch(version))


@data_group.command(name="path")
@click.argument("name")
@click.option("--release-version", "version", default=None, help=VERSION_HELP)
@click.pass_obj
def path_command(kernel: Kernel, name: str, version: str | None) -> None:
    """Print where NAME's cached files are (what --problems-file takes). Never downloads."""
    click.echo(_dataset(kernel, name).fetch(version, download=False).path)


@data_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
@click.pass_obj
def list_command(kernel: Kernel, as_json: bool) -> None:
    """Every cached dataset with its version, revision, size and checksums."""
    from bench_runner_core.datasets import data_dir, describe

    shown = 0
    for _name, registration in sorted(kernel.registry.items["dataset"].items()):
        for snapshot in registration.factory().cached():
            shown += 1
            if as_json:
                click.echo(json.dumps(describe(snapshot)))
            else:
                _echo_snapshot(snapshot)
    if not shown and not as_json:
        click.echo(f"no benchmark data cached in {data_dir()}; fetch some with `bench_runner data fetch NAME`")


@hookimpl
def bench_runner_register_commands(register: CommandRegistrar) -> None:
    register(data_group)


def _differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    # Where the files sit may change (another cache, a mirror); their revision and bytes may not.
    return (old.get("revision"), old.get("files")) != (new.get("revision"), new.get("files"))


def _describe_pin(pin: dict[str, Any]) -> str:
    files = ", ".join(f"{n} {str(h)[:12]}" for n, h in (pin.get("files") or {}).items())
    revision = f" revision {pin['revision']}" if pin.get("revision") else ""
    return f"{pin.get('dataset')} {pin.get('version')}{revision} ({files})"


@hookimpl
def bench_runner_run_started(run: RunInfo) -> None:
    pin = dict(run.metadata.get("benchmark", {})).get("data")
    if not pin or not run.run_dir:
        return
    path = Path(run.run_dir) / PIN_FILE
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8")).get("data") or {}
        if _differs(old, pin):
            raise BadInput(
                f"run {run.run_id} was graded on {_describe_pin(old)}, not on {_describe_pin(pin)}",
                "put that data back (see `bench_runner data list`) or start a new run",
            )
        return
    from bench_runner_core.convert import write_json_atomic

    write_json_atomic(path, {"schema_version": SCHEMA_VERSION, "data": pin})
