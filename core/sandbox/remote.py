"""What a trusted checker sees of the untrusted program: proxies whose calls cross a pipe as plain data.

A checker receives a :class:`RemoteProgram`. ``program.function("f")(1, 2)``
calls ``f`` in the sandboxed process and returns its result, decoded by the
worker into exact built-in types only. Every call accepts ``timeout_s=`` (the
per-test limit); the job's overall deadline always applies too.
"""

from __future__ import annotations

import builtins
import signal
import time
from collections.abc import Callable
from typing import Any

from bench_runner_core.sandbox import framing, plaindata
from bench_runner_core.sandbox.execution import Execution

MAX_REPLY_BYTES = 64 << 20


class ProgramError(Exception):
    """The program raised (or died). For built-in exception types the instance also subclasses that type."""

    def __init__(self, type_name: str, message: str, traceback_tail: str = "") -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message
        self.traceback_tail = traceback_tail


class NotPlainData(Exception):
    """The program returned something that is not plain data (an object, a subclass of a built-in...)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"the program returned a non-plain value of type {type_name}")
        self.type_name = type_name


class ProgramTimeout(BaseException):
    """A call, or the job, ran out of time. A BaseException so ``except Exception`` in a checker cannot hide it."""


class OutputLimit(BaseException):
    """The program's reply exceeded the size cap."""


#: how much of what a program says about its exception the worker keeps (the program sends what it likes)
MAX_TYPE_NAME = 100
MAX_MESSAGE = 2000
MAX_TAIL = 4000

# one class per built-in exception type, made on first use: a bounded set, whatever names programs send
_ERROR_CLASSES: dict[str, type[ProgramError]] = {}


def program_error(type_name: str, message: str, tail: str = "") -> ProgramError:
    """A ProgramError that is also ``except``-able as the built-in type the program raised."""
    type_name, message, tail = type_name[:MAX_TYPE_NAME], message[:MAX_MESSAGE], tail[-MAX_TAIL:]
    cls = _ERROR_CLASSES.get(type_name)
    if cls is None:
        builtin = getattr(builtins, type_name, None)
        if not (isinstance(builtin, type) and issubclass(builtin, Exception) and builtin is not Exception):
            return ProgramError(type_name, message, tail)  # the program's own class: not remembered
        try:
            cls = type(f"Program{type_name}", (ProgramError, builtin), {"__init__": ProgramError.__init__})
        except TypeError:
            cls = ProgramError
        _ERROR_CLASSES[type_name] = cls
    return cls(type_name, message, tail)


class RemoteProgram:
    """The loaded program, callable from the worker."""

    def __init__(self, execution: Execution) -> None:
        self._execution = execution
        self.dead: BaseException | None = None

    @property
    def output(self) -> bytes:
        """What the program wrote to stdout so far (up to the output cap)."""
        return bytes(self._execution.stdout)

    def function(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, timeout_s: float | None = None, **kwargs: Any) -> Any:
            return self.request("call", -1, name, args, kwargs, self._per_test(timeout_s))

        call.__name__ = name
        return call

    def instance(self, class_name: str, *args: Any, timeout_s: float | None = None, **kwargs: Any) -> RemoteObject:
        return RemoteObject(self, self.request("new", -1, class_name, args, kwargs, self._per_test(timeout_s)))

    def _per_test(self, timeout_s: float | None) -> float | None:
        # a checker's own timeout for the call, else the job's per-test limit (the job's deadline always applies)
        return timeout_s if timeout_s is not None else self._execution.limits.test_timeout_s

    def request(self, kind: str, target: int, name: str, args: tuple, kwargs: dict, timeout_s: float | None) -> Any:
        if self.dead is not None:
            raise self.dead
        body = plaindata.encode((kind, target, name, tuple(args), dict(kwargs)))
        return self._exchange(framing.frame(body), timeout_s)

    def _exchange(self, frame: bytes, timeout_s: float | None) -> Any:
        execution = self._execution
        deadline = time.monotonic() + timeout_s if timeout_s is not None else None
        while True:
            reply = self._take_frame()
            if reply is not None:
                return self._interpret(reply)
            left = execution.remaining(deadline)
            if left <= 0:
                execution.kill()
                self.dead = ProgramTimeout(
                    "the call took longer than %.1f s" % (timeout_s or 0)
                    if deadline is not None and deadline < execution.deadline
                    else "the job ran out of time"
                )
                raise self.dead
            if execution.replies_closed:
                self.dead = self._died()
                raise self.dead
            frame = execution.pump(left, write=frame)

    def _take_frame(self) -> bytes | None:
        try:
            return framing.split(self._execution.reply_buffer, MAX_REPLY_BYTES)
        except ValueError as exc:
            self._execution.kill()
            self.dead = OutputLimit(f"a reply of {exc.args[0]} bytes exceeds {MAX_REPLY_BYTES} bytes")
            raise self.dead from None

    def _interpret(self, frame: bytes) -> Any:
        try:
            reply = plaindata.decode(frame)
        except plaindata.DecodeError as exc:
            raise ProgramError("ProtocolError", f"the program sent a malformed reply ({exc})") from None
        if type(reply) is tuple and reply and reply[0] == "ok" and len(reply) == 2:
            return reply[1]
        if type(reply) is tuple and len(reply) == 4 and reply[0] == "raise" and all(type(x) is str for x in reply):
            raise program_error(reply[1], reply[2], reply[3])
        if type(reply) is tuple and len(reply) == 2 and reply[0] == "notplain" and type(reply[1]) is str:
            raise NotPlainData(reply[1])
        raise ProgramError("ProtocolError", "the program sent a malformed reply")

    def _died(self) -> BaseException:
        execution = self._execution
        execution.drain()
        return died_error(execution.wait_status, bytes(execution.stderr))

    def load(self) -> None:
        """Wait for the program's module to finish executing (raises like a call)."""
        self._exchange(b"", None)


class RemoteObject:
    """One instance of a program's class, kept in the sandboxed process."""

    def __init__(self, program: RemoteProgram, handle: int) -> None:
        self._program = program
        self._handle = handle

    def call(self, method: str, *args: Any, timeout_s: float | None = None, **kwargs: Any) -> Any:
        return self._program.request("method", self._handle, method, args, kwargs, self._program._per_test(timeout_s))


def died_error(wait_status: int | None, stderr: bytes) -> BaseException:
    tail = stderr[-4 * MAX_TAIL :].decode(errors="replace")[-1000:]
    if wait_status is None:
        return ProgramError("ProgramDied", "the program exited without answering", tail)
    if signal_number := (wait_status & 0x7F):
        if signal_number == signal.SIGXCPU:
            return ProgramTimeout("CPU time limit exceeded")
        name = (
            signal.Signals(signal_number).name if signal_number in signal.Signals._value2member_map_ else signal_number
        )
        return ProgramError("ProgramDied", f"the program was killed by {name}", tail)
    return ProgramError("ProgramDied", f"the program exited early with status {(wait_status >> 8) & 0xFF}", tail)
