"""``bench_runner data`` with a third-party dataset (the echo test plugin's), through the installed CLI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from tests.fixtures.hub_server import RELEASE_PREFIX, HubStandIn
from tests.fixtures.kernel import cli_env

Bench = Callable[..., CompletedProcess[str]]
BODY = b"echo data\n" * 100


def _env(tmp_path: Path, hub: HubStandIn) -> dict[str, str]:
    return cli_env(
        tmp_path,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        ECHO_DATA_URL=f"{hub.url}{RELEASE_PREFIX}{{version}}/echo.txt",
        ECHO_DATA_SHA256=hashlib.sha256(BODY).hexdigest(),
    )


def test_fetch_list_and_path_for_a_plugin_dataset(bench: Bench, tmp_path: Path) -> None:
    hub = HubStandIn()
    hub.releases["1"] = {"echo.txt": BODY}
    hub.start()
    try:
        env = _env(tmp_path, hub)
        assert "no benchmark data cached" in bench("data", "list", env=env).stdout
        missing = bench("data", "path", "echo", env=env)
        assert missing.returncode == 2 and "echo data 1 is not cached" in missing.stderr
        fetched = bench("data", "fetch", "echo", env=env)
        assert fetched.returncode == 0, fetched.stderr
        target = tmp_path / "cache" / "bench-runner" / "data" / "echo" / "1" / "echo.txt"
        assert target.read_bytes() == BODY
        assert f"sha256 {hashlib.sha256(BODY).hexdigest()}" in fetched.stdout
        requests = hub.count()
        assert bench("data", "path", "echo", env=env).stdout.strip() == str(target)
        (row,) = [json.loads(line) for line in bench("data", "list", "--json", env=env).stdout.splitlines()]
        assert (row["dataset"], row["version"], row["size"]) == ("echo", "1", len(BODY))
        assert hub.count() == requests
        unknown = bench("data", "fetch", "nope", env=env)
        assert unknown.returncode == 2 and "unknown dataset 'nope' (known: echo)" in unknown.stderr
    finally:
        hub.stop()
