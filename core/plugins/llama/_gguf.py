"""Read a GGUF file's header key/values without loading the model.

Only the metadata section is parsed; large arrays (the tokenizer's vocabulary)
are skipped and recorded by their length, so reading is cheap even for big
models. Used by the llama.cpp backends and ``bench_runner models``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

MAGIC = b"GGUF"
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# arrays longer than this are skipped (the vocabulary); short ones are kept
_KEEP_ARRAY_MAX = 64

# llama.cpp's llama_ftype enum, the value of general.file_type
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip


class NotGGUF(ValueError):
    """The file is not a GGUF file, or its header is cut short or corrupt."""


@attrs.frozen(kw_only=True)
class GGUFInfo:
    """What the header says about a model."""

    version: int
    tensor_count: int
    metadata: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def name(self) -> str | None:
        return self.metadata.get("general.name")

    @property
    def quantization(self) -> str | None:
        file_type = self.metadata.get("general.file_type")
        if file_type is None:
            return None
        return FILE_TYPES.get(int(file_type), f"type {file_type}")

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")


class _Reader:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def take(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise NotGGUF("the GGUF header is cut short")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.unpack("<Q")).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self._stream.seek(self.unpack("<Q"), 1)

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if count <= _KEEP_ARRAY_MAX:
                return [self.value(item_kind) for _ in range(count)]
            self.skip_array(item_kind, count)
            return _SkippedArray(count)
        raise NotGGUF(f"unknown GGUF value type {kind}")

    def skip_array(self, kind: int, count: int) -> None:
        if kind in _SCALARS:
            self._stream.seek(struct.calcsize(_SCALARS[kind]) * count, 1)
        elif kind == _STRING:
            for _ in range(count):
                self.skip_string()
        else:
            for _ in range(count):
                self.value(kind)


@attrs.frozen
class _SkippedArray:
    """A long array left unread; only its length is known."""

    length: int


def read_gguf(path: str | Path) -> GGUFInfo:
    """Read the header of the GGUF file at ``path``. Raises ``NotGGUF`` or ``OSError``."""
    with open(path, "rb", buffering=1 << 20) as stream:
        reader = _Reader(stream)
        if stream.read(4) != MAGIC:
            raise NotGGUF("not a GGUF file (wrong magic bytes)")
        version = reader.unpack("<I")
        if version == 1:
            # GGUF v1 used 32-bit counts; llama.cpp dropped it long ago
            raise NotGGUF("GGUF version 1 is no longer supported by llama.cpp")
        if version > 3:
            raise NotGGUF(f"unsupported GGUF version {version}")
        tensor_count, kv_count = reader.unpack("<Q"), reader.unpack("<Q")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.unpack("<I"))
    return GGUFInfo(version=version, tensor_count=tensor_count, metadata=metadata)
