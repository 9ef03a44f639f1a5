from __future__ import annotations

import struct
from pathlib import Path

import gguf
import pytest

from bench_runner_core.plugins.llama._gguf import NotGGUF, read_gguf
from tests.fixtures.tiny_gguf import SIMPLE_CHAT_TEMPLATE


def test_header_matches_the_reference_reader(tiny_chat_gguf: Path) -> None:
    mine = read_gguf(tiny_chat_gguf)
    reference = gguf.GGUFReader(str(tiny_chat_gguf))
    assert mine.tensor_count == len(reference.tensors)
    for name, field in reference.fields.items():
        if name.startswith("GGUF."):
            continue
        value = mine.metadata[name]
        if len(field.types) == 1 and field.types[0] == gguf.GGUFValueType.STRING:
            assert value == bytes(field.parts[field.data[0]]).decode()
        elif field.types[0] == gguf.GGUFValueType.ARRAY:
            assert getattr(value, "length", None) == len(field.data) or len(value) == len(field.data)
        else:
            assert value == pytest.approx(field.parts[field.data[0]][0])
    assert (mine.architecture, mine.quantization, mine.context_length) == ("llama", "F32", 8192)
    assert mine.chat_template == SIMPLE_CHAT_TEMPLATE


def test_truncated_and_foreign_files(tmp_path: Path, tiny_gguf: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[:300])
    with pytest.raises(NotGGUF, match="cut short"):
        read_gguf(cut)
    old = tmp_path / "v1.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\0" * 16)
    with pytest.raises(NotGGUF, match="version 1"):
        read_gguf(old)
    with pytest.raises(NotGGUF, match="wrong magic"):
        read_gguf(Path(__file__))
