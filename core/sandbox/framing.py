"""The one message framing of the sandbox: a 4-byte little-endian length, then the body.

Every pipe and socket between the pool, the worker, the zygote and a program
carries frames of this shape (pickles between trusted processes, plain data
to and from programs). Kept free of imports beyond the standard library's
lightest: the zygote loads it, so every program has it already.
"""

from __future__ import annotations

import os
import select
import struct
import time

HEADER = struct.Struct("<I")
#: the largest body a frame may announce
MAX_BODY = (1 << 32) - 1


class Timeout(Exception):
    """No complete frame before the deadline."""


def frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send(fd: int, body: bytes) -> None:
    write_all(fd, frame(body))


def read_exact(fd: int, n: int) -> bytes:
    """``n`` bytes from a blocking fd; EOFError if it closes first."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> bytes:
    """The body of the next frame on a blocking fd."""
    (size,) = HEADER.unpack(read_exact(fd, HEADER.size))
    return read_exact(fd, size)


def receive_by(fd: int, deadline: float) -> bytes:
    """The body of the next frame, waiting until ``deadline`` (monotonic) at most; EOFError if it closes."""
    data = bytearray()
    need = HEADER.size
    size = None
    while len(data) < need:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Timeout
        chunk = os.read(fd, max(need - len(data), 1 << 16))
        if not chunk:
            raise EOFError
        data += chunk
        if size is None and len(data) >= HEADER.size:
            (size,) = HEADER.unpack_from(data)
            need = HEADER.size + size
    return bytes(data[HEADER.size :])


def split(buffer: bytearray, max_body: int = MAX_BODY) -> bytes | None:
    """Take the first complete frame's body off ``buffer``; None if it is not all there yet.

    Raises ``ValueError`` when the frame announces more than ``max_body`` bytes.
    """
    if len(buffer) < HEADER.size:
        return None
    (size,) = HEADER.unpack_from(buffer)
    if size > max_body:
        raise ValueError(size)
    if len(buffer) < HEADER.size + size:
        return None
    body = bytes(buffer[HEADER.size : HEADER.size + size])
    del buffer[: HEADER.size + size]
    return body
