"""``bench_runner data`` with a third-party dataset (the echo test plugin's), in-process against a real server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import structlog
from click.testing import CliRunner

from bench_runner import BadInput
from bench_runner_core.cli import build_cli
from bench_runner_core.manager import DEFAULT_PLUGINS, Registry, make_plugin_manager
from tests.fixtures import echo_plugin
from tests.fixtures.hub_server import RELEASE_PREFIX, HubStandIn

BODY = b"echo data\n" * 100


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubStandIn]:
    hub = HubStandIn()
    hub.releases["1"] = {"echo.txt": BODY}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ECHO_DATA_URL", f"{hub.url}{RELEASE_PREFIX}{{version}}/echo.txt")
    monkeypatch.setenv("ECHO_DATA_SHA256", hashlib.sha256(BODY).hexdigest())
    yield hub.start()
    hub.stop()


@pytest.fixture
def cli() -> Iterator[click.Group]:
    pm = make_plugin_manager(builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin], load_entry_points=False)
    yield build_cli(Registry(pm))
    structlog.reset_defaults()  # the CLI pointed logging at CliRunner's stream, which is closed now


def test_fetch_list_and_path_for_a_plugin_dataset(cli: click.Group, server: HubStandIn, tmp_path: Path) -> None:
    run = CliRunner().invoke
    assert "no benchmark data cached" in run(cli, ["data", "list"]).output
    missing = run(cli, ["data", "path", "echo"])
    assert isinstance(missing.exception, BadInput) and "echo data 1 is not cached" in str(missing.exception)
    fetched = run(cli, ["data", "fetch", "echo"])
    assert fetched.exit_code == 0, fetched.output
    target = tmp_path / "cache" / "bench-runner" / "data" / "echo" / "1" / "echo.txt"
    assert target.read_bytes() == BODY
    assert f"sha256 {hashlib.sha256(BODY).hexdigest()}" in fetched.output
    requests = server.count()
    assert run(cli, ["data", "path", "echo"]).output.strip() == str(target)
    (row,) = [json.loads(line) for line in run(cli, ["data", "list", "--json"]).output.splitlines()]
    assert (row["dataset"], row["version"], row["size"], row["schema_version"]) == ("echo", "1", len(BODY), 1)
    assert server.count() == requests
    unknown = run(cli, ["data", "fetch", "nope"])
    assert "unknown dataset 'nope' (known: echo)" in str(unknown.exception)


def test_plugins_lists_the_dataset(cli: click.Group) -> None:
    assert "dataset:echo" in CliRunner().invoke(cli, ["plugins"]).output
