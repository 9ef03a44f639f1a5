"""The one converter: every record read from or written to disk goes through it."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

import cattrs
from cattrs.v import format_exception

from bench_runner_core.api import BadInput
from bench_runner_core.files import atomic_writer

T = TypeVar("T")

_converter = cattrs.Converter(omit_if_default=False, forbid_extra_keys=False)


def unstructure(record: Any) -> Any:
    """A record as JSON-ready data."""
    return _converter.unstructure(record)


def structure(data: Any, cls: type[T], *, what: str) -> T:
    """Data as a record, or ``BadInput`` with a one-line reason naming ``what``."""
    try:
        return _converter.structure(data, cls)
    except Exception as exc:  # cattrs raises ExceptionGroups; flatten them to one line
        if isinstance(exc, cattrs.BaseValidationError):
            messages = cattrs.transform_error(exc, path="", format_exception=_describe)
            reasons = "; ".join(map(_readable, messages))
        else:
            reasons = str(exc)
        raise BadInput(f"bad setting in {what}: {reasons}", f"fix it in {what}") from None


def _readable(message: str) -> str:
    # cattrs ends each message with " @ <path>": a field's path reads as "(setting x)", a record-wide one as nothing
    text, _, path = message.rpartition(" @ ")
    if not text:
        return message
    return f"{text} (setting {path.removeprefix('.')})" if path else text


def _describe(exc: BaseException, type_: Any) -> str:
    # attrs validators say exactly what is wrong ("'temperature' must be >= 0.0: -1.0"); keep their words
    if isinstance(exc, ValueError) and type_ is None and str(exc):
        return str(exc)
    return format_exception(exc, type_)


def dumps(record: Any, *, indent: int | None = None) -> str:
    return json.dumps(unstructure(record), indent=indent, ensure_ascii=False, allow_nan=True)


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON so a reader (or a crash) never sees half a file (see ``files.atomic_writer``)."""
    with atomic_writer(path) as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
