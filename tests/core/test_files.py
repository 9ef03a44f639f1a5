"""The file helpers plugins share: JSONL reading, atomic writes, the Hugging Face cache folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench_runner_core.api import BadInput
from bench_runner_core.files import atomic_writer, file_sha256, hf_hub_cache, read_jsonl


def test_read_jsonl_reads_plain_and_gzipped_files_skipping_blank_lines(tmp_path: Path) -> None:
    text = '{"a": 1}\n\n[2]\n'
    (tmp_path / "x.jsonl").write_text(text)
    with gzip.open(tmp_path / "x.jsonl.gz", "wt") as f:
        f.write(text)
    assert list(read_jsonl(tmp_path / "x.jsonl")) == [(1, {"a": 1}), (3, [2])]
    assert list(read_jsonl(tmp_path / "x.jsonl.gz")) == [(1, {"a": 1}), (3, [2])]


def test_read_jsonl_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{nope\n')
    with pytest.raises(BadInput) as caught:
        list(read_jsonl(tmp_path / "bad.jsonl", fix="pass a test file"))
    assert f"{tmp_path / 'bad.jsonl'}:2 is not JSON" in caught.value.problem and caught.value.fix == "pass a test file"
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(BadInput, match="cannot read"):
        list(read_jsonl(tmp_path / "bad.jsonl.gz"))
    with pytest.raises(BadInput, match="cannot read"):
        list(read_jsonl(tmp_path / "missing.jsonl"))


def test_atomic_writer_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    with atomic_writer(target) as f:
        f.write("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_writer(target) as f:
        f.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]  # no temporary file left


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "f").write_bytes(b"abc")
    assert file_sha256(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_hf_hub_cache_follows_huggingface_hub_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hf_hub_cache() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("XDG_CACHE_HOME", "/x")
    assert hf_hub_cache() == Path("/x/huggingface/hub")
    monkeypatch.setenv("HF_HOME", "/h")
    assert hf_hub_cache() == Path("/h/hub")
    monkeypatch.setenv("HF_HUB_CACHE", "/c")
    assert hf_hub_cache() == Path("/c")
