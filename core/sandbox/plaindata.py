"""A type-preserving encoding of plain data, safe to decode from an untrusted peer.

Values cross between the trusted worker and the untrusted program in this
format. The encoder accepts only exact built-in types (``type(x) is int``, never
a subclass), so an object with a lying ``__eq__`` cannot be sent; the decoder
builds only those types, so whatever bytes a hostile program writes decode to
inert data or to :class:`DecodeError`. Nesting and sizes are bounded on both
sides so that a crafted message cannot exhaust the worker's stack or memory.
"""

from __future__ import annotations

import struct
from typing import Any

MAX_DEPTH = 200
#: items of one set, or keys of one dict, that may share a hash: more means a crafted collision attack
#: (each insertion then scans all the others: 150,000 alike would stall the worker for minutes)
MAX_SAME_HASH = 64
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")


class NotPlain(TypeError):
    """The value holds something other than exact built-in plain-data types."""

    def __init__(self, type_name: str) -> None:
        super().__init__(type_name)
        self.type_name = type_name


class DecodeError(ValueError):
    """The bytes are not a well-formed encoding."""


_SEQ_TAGS = {list: b"l", tuple: b"t", set: b"S", frozenset: b"z"}


def encode(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise NotPlain(f"nesting deeper than {MAX_DEPTH}")
    kind = type(value)
    if value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif kind is int:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        out.append(b"i" + _U32.pack(len(raw)) + raw)
    elif kind is float:
        out.append(b"f" + _F64.pack(value))
    elif kind is str:
        raw = value.encode("utf-8", "surrogatepass")
        out.append(b"s" + _U32.pack(len(raw)) + raw)
    elif kind is bytes:
        out.append(b"b" + _U32.pack(len(value)) + value)
    elif kind in _SEQ_TAGS:
        out.append(_SEQ_TAGS[kind] + _U32.pack(len(value)))
        for item in value:
            _encode(item, out, depth + 1)
    elif kind is dict:
        out.append(b"d" + _U32.pack(len(value)))
        for key, item in value.items():
            _encode(key, out, depth + 1)
            _encode(item, out, depth + 1)
    elif kind is complex:
        out.append(b"c" + _C128.pack(value.real, value.imag))
    else:
        raise NotPlain(kind.__qualname__ if isinstance(kind.__qualname__, str) else "?")


def decode(data: bytes) -> Any:
    view = memoryview(data)
    try:
        value, pos = _decode(view, 0, 0)
    except (IndexError, struct.error, UnicodeDecodeError, TypeError, RecursionError) as exc:
        raise DecodeError(f"malformed plain data: {type(exc).__name__}") from None
    if pos != len(view):
        raise DecodeError("trailing bytes after plain data")
    return value


def _check_hashes(items: list) -> None:
    """Refuse items crafted to collide: counting hashes is linear (a hash is an int, hashing to itself)."""
    if len(items) <= MAX_SAME_HASH:
        return
    counts: dict[int, int] = {}
    for item in items:
        key = hash(item)
        seen = counts.get(key, 0) + 1
        if seen > MAX_SAME_HASH:
            raise DecodeError(f"more than {MAX_SAME_HASH} items of one set or dict share a hash")
        counts[key] = seen


def _count(view: memoryview, pos: int) -> tuple[int, int]:
    (n,) = _U32.unpack_from(view, pos)
    if n > len(view) - pos:  # every item takes at least one byte
        raise DecodeError("length past end of message")
    return n, pos + 4


def _decode(view: memoryview, pos: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise DecodeError("nesting too deep")
    tag = view[pos : pos + 1].tobytes()
    pos += 1
    if tag == b"N":
        return None, pos
    if tag == b"T":
        return True, pos
    if tag == b"F":
        return False, pos
    if tag in (b"i", b"s", b"b"):
        n, pos = _count(view, pos)
        raw = view[pos : pos + n]
        if len(raw) != n:
            raise DecodeError("truncated")
        if tag == b"i":
            return int.from_bytes(raw, "little", signed=True), pos + n
        if tag == b"s":
            return str(raw, "utf-8", "surrogatepass"), pos + n
        return raw.tobytes(), pos + n
    if tag == b"f":
        return _F64.unpack_from(view, pos)[0], pos + 8
    if tag == b"c":
        real, imag = _C128.unpack_from(view, pos)
        return complex(real, imag), pos + 16
    if tag in (b"l", b"t", b"S", b"z"):
        n, pos = _count(view, pos)
        items = []
        for _ in range(n):
            item, pos = _decode(view, pos, depth + 1)
            items.append(item)
        if tag == b"l":
            return items, pos
        if tag == b"t":
            return tuple(items), pos
        _check_hashes(items)
        return (set(items) if tag == b"S" else frozenset(items)), pos
    if tag == b"d":
        n, pos = _count(view, pos)
        pairs = []
        for _ in range(n):
            key, pos = _decode(view, pos, depth + 1)
            value, pos = _decode(view, pos, depth + 1)
            pairs.append((key, value))
        _check_hashes([key for key, _ in pairs])
        return dict(pairs), pos
    raise DecodeError(f"unknown tag {tag!r}")
