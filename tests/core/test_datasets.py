"""The data cache and the verified download, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench_runner import BadInput, DataSnapshot, datasets
from tests.fixtures.hub_server import RELEASE_PREFIX, HubStandIn

BODY = b"".join(b"line %d\n" % i for i in range(50_000))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubStandIn]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in (datasets.OFFLINE_ENV, "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    hub = HubStandIn()
    hub.releases["1"] = {"f.txt": BODY}
    yield hub.start()
    hub.stop()


def _url(hub: HubStandIn, version: str = "1") -> str:
    return f"{hub.url}{RELEASE_PREFIX}{version}/f.txt"


def _get(hub: HubStandIn, **kwargs: object) -> datasets.DataFile:
    target = datasets.data_dir() / "t" / "f.txt"
    return datasets.download(_url(hub), target, what="the file", fix="pass it by hand", **kwargs)  # type: ignore[arg-type]


def test_a_download_is_verified_and_renamed_into_place(server: HubStandIn) -> None:
    file = _get(server, sha256=hashlib.sha256(BODY).hexdigest())
    assert Path(file.path).read_bytes() == BODY
    assert (file.size, file.sha256) == (len(BODY), hashlib.sha256(BODY).hexdigest())
    assert [p.name for p in Path(file.path).parent.iterdir()] == ["f.txt"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("corrupt", r"the file downloaded from .* is corrupt \(sha256 "),
        ("cut", r"was cut short at \d+ of 538890 bytes"),
    ],
)
def test_corrupt_and_truncated_downloads_leave_nothing(server: HubStandIn, fault: str, message: str) -> None:
    server.faults["f.txt"] = fault
    with pytest.raises(BadInput, match=message) as caught:
        _get(server, sha256=hashlib.sha256(BODY).hexdigest())
    assert caught.value.fix == "pass it by hand"
    assert not any((datasets.data_dir() / "t").iterdir())


def test_a_failing_check_refuses_the_file(server: HubStandIn) -> None:
    def check(path: Path) -> None:
        raise BadInput(f"{path.name} has no header")

    with pytest.raises(BadInput, match=r"the file downloaded from .* is not valid \(.*has no header\)"):
        _get(server, check=check)
    assert not any((datasets.data_dir() / "t").iterdir())


def test_http_errors_and_unreachable_hosts_are_one_line(server: HubStandIn) -> None:
    target = datasets.data_dir() / "t" / "f.txt"
    with pytest.raises(BadInput, match=r"could not fetch the file from .*/2/f.txt \(HTTP 404"):
        datasets.download(_url(server, "2"), target, what="the file", fix="")
    with pytest.raises(BadInput, match=r"could not fetch the file from http://127.0.0.1:9/f.txt"):
        datasets.download("http://127.0.0.1:9/f.txt", target, what="the file", fix="")


def test_remembered_snapshots_disappear_when_their_files_do(server: HubStandIn) -> None:
    file = _get(server)
    snapshot = DataSnapshot(dataset="t", version="1", revision="r1", source="s", path=file.path, files=(file,))
    stamped = datasets.remember(snapshot)
    assert stamped.fetched_at and datasets.snapshots("t") == [stamped]
    assert stamped.pin() == {
        "dataset": "t",
        "version": "1",
        "revision": "r1",
        "source": "s",
        "files": {"f.txt": file.sha256},
    }
    Path(file.path).write_bytes(b"edited")
    assert datasets.snapshots("t") == []


def test_offline_follows_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (datasets.OFFLINE_ENV, "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    assert not datasets.offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert datasets.offline()
