"""The program side of a CheckJob: load the program, then answer calls over fds 3 (requests) and 4 (replies).

This code runs inside the untrusted process, so nothing here is relied on for
safety: a program may patch or replace any of it. Whatever it sends is
decoded by the worker as plain data and judged by the trusted checker.

The program is executed as a fresh module named ``program`` (registered in
``sys.modules``), so ``if __name__ == "__main__":`` blocks do not run.
"""

from __future__ import annotations

import os
import traceback
import types
from typing import Any

from bench_runner_core.sandbox import framing, plaindata

REQUESTS = 3
REPLIES = 4
TRACEBACK_LINES = 6


def frame(message: Any) -> bytes:
    try:
        body = plaindata.encode(message)
    except plaindata.NotPlain as exc:
        body = plaindata.encode(("notplain", exc.type_name))
    return framing.frame(body)


def send(message: Any, fd: int = REPLIES) -> None:
    framing.write_all(fd, frame(message))


def warm_up() -> None:
    """Run the program side's framing in the zygote until CPython has specialized its bytecode.

    Code that first runs after the fork rewrites its own code objects (warm-up
    counters, inline caches) and fills the type attribute cache: copy-on-write
    faults in every program. Warmed here, those pages stay shared.
    """
    messages = [
        ("stdio", "print(1)\n"),
        ("ok", None),
        ("call", -1, "f", (1, -(2**70), 2.5, "s", b"b", True, [1, (2,)], {"k": {3}}, frozenset(), 1j), {"x": None}),
        ("raise", "ValueError", "message", "tail"),
        ("notplain", "object"),
    ]
    read, write = os.pipe()
    try:
        for _ in range(16):
            for message in messages:
                send(message, write)
                plaindata.decode(framing.receive(read))
            frame(object())
    finally:
        os.close(read)
        os.close(write)


def raised(exc: BaseException) -> tuple[str, str, str, str]:
    lines = traceback.format_exception(exc)
    tail = "".join(lines[-TRACEBACK_LINES:])
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    return ("raise", type(exc).__name__, message[:2000], tail[-4000:])


def serve(code: types.CodeType, module: types.ModuleType) -> None:
    """Run the program in ``module``, then answer calls into it until the worker closes the requests."""
    try:
        exec(code, module.__dict__)
        send(("ok", None))
    except BaseException as exc:
        send(raised(exc))
        os._exit(1)
    instances: list[Any] = []
    while True:
        try:
            request = plaindata.decode(framing.receive(REQUESTS))
        except EOFError:
            os._exit(0)
        try:
            kind, target, name, args, kwargs = request
            if kind == "call":
                result = getattr(module, name)(*args, **kwargs)
            elif kind == "new":
                instances.append(getattr(module, name)(*args, **kwargs))
                result = len(instances) - 1
            else:
                result = getattr(instances[target], name)(*args, **kwargs)
        except BaseException as exc:
            reply: Any = raised(exc)
        else:
            reply = ("ok", result)
        try:
            send(reply)
        except BaseException as exc:
            send(raised(exc))
