"""The shipped JSON Schema, and its errors as one line naming the task, the field and what is allowed."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bench_runner_core.api import BadInput

SCHEMA_PATH = Path(__file__).with_name("campaign.schema.json")
FIX = "see `Campaigns` in the README, or the schema bench_runner_core/plugins/campaigns/campaign.schema.json"


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def read_table(path: Path, what: str) -> dict[str, Any]:
    """A TOML or JSON file holding a table; ``BadInput`` naming ``what`` otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{what} {str(path)!r} does not exist", "check the path") from None
    except OSError as exc:
        raise BadInput(f"cannot read {what} {str(path)!r} ({exc.strerror})", "check its permissions") from None
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        data = json.loads(raw) if kind == "JSON" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"{what} {str(path)!r} is not valid {kind} ({str(exc).splitlines()[0]})", "fix its syntax"
        ) from None
    if not isinstance(data, dict):
        raise BadInput(f"{what} {str(path)!r} must hold a table", "write `key = value` lines")
    return data


def validate(data: Mapping[str, Any], where: str, part: str | None = None) -> None:
    """Check ``data`` against the campaign schema (or its ``$defs`` ``part``); ``BadInput`` on the first error."""
    import jsonschema

    root = schema()
    target = root if part is None else {"$ref": f"#/$defs/{part}", "$defs": root["$defs"]}
    validator = jsonschema.Draft202012Validator(target)
    # a field that fails its own check is also "unevaluated"; that echo would hide the real reason
    errors = [e for e in validator.iter_errors(data) if not _echo(e)]
    error = jsonschema.exceptions.best_match(errors)
    if error is not None:
        raise BadInput(f"{where}: {describe(error, data)}", FIX)


def describe(error: Any, data: Mapping[str, Any]) -> str:
    """``task 2 (humaneval): field 'rollouts' must be >= 1 (got 0)`` from a jsonschema error."""
    path = list(error.absolute_path)
    place = _place(path, data)
    nested = len(path) >= 2 and path[0] in ("tasks", "generators", "models")
    field = ".".join(str(p) for p in path[2 if nested else 0 :])
    name = f"field {field!r}" if field else "it"
    kind, expected, got = error.validator, error.validator_value, error.instance
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(got, Mapping):
        allowed = _allowed(error.schema)
        unknown = sorted(set(got) - set(allowed)) or ["?"]
        return f"{place}unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
    if kind == "required":
        missing = [k for k in expected if k not in got]
        return f"{place}missing field {missing[0]!r}"
    if kind == "anyOf" and not path:
        return "the file has no tasks (add [[tasks]] or [[generators]])"
    if kind == "not" and expected == {"required": ["model", "models"]}:
        return f"{place}give model or models, not both"
    if kind == "not":
        return f"{place}{name} is not allowed here (set it per task)"
    if kind == "oneOf":
        return f'{place}{name} must be a list of models, "all" or "@category" (got {got!r})'
    if kind == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"{place}{name} must be {' or '.join(kinds)} (got {got!r})"
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if kind in bounds:
        return f"{place}{name} must be {bounds[kind]} {expected} (got {got!r})"
    if kind in ("enum", "const"):
        values = expected if kind == "enum" else [expected]
        return f"{place}{name} must be one of {', '.join(repr(v) for v in values)} (got {got!r})"
    if kind == "pattern":
        return f"{place}{name} {got!r} is not allowed (allowed: {_PATTERNS.get(expected, expected)})"
    if kind in ("minItems", "minLength"):
        return f"{place}{name} must not be empty"
    return f"{place}{name}: {error.message}"


_PATTERNS = {
    "^[A-Za-z0-9][A-Za-z0-9._-]*$": "letters, digits, '.', '_' and '-'",
    "^(all|@.+)$": 'a list of models, "all" or "@category"',
}


def _echo(error: Any) -> bool:
    got = error.instance
    return (
        error.validator == "unevaluatedProperties"
        and isinstance(got, Mapping)
        and set(got) <= set(_allowed(error.schema))
    )


def _place(path: Sequence[Any], data: Mapping[str, Any]) -> str:
    if len(path) >= 2 and path[0] == "models":
        return f"model {path[1]!r}: "
    if len(path) >= 2 and path[0] in ("tasks", "generators") and isinstance(path[1], int):
        item = data[path[0]][path[1]]
        what = item.get("benchmark") or ",".join(item.get("benchmarks") or []) if isinstance(item, Mapping) else ""
        return f"{path[0][:-1]} {path[1] + 1}{f' ({what})' if what else ''}: "
    return ""


def _allowed(node: Any) -> list[str]:
    """The property names a schema node accepts, following its ``allOf`` references."""
    if not isinstance(node, Mapping):
        return []
    names = list(node.get("properties", {}))
    for part in node.get("allOf", []):
        ref = part.get("$ref", "")
        names += _allowed(schema()["$defs"].get(ref.rsplit("/", 1)[-1])) if ref else _allowed(part)
    return [n for n in names if node.get("properties", {}).get(n, {}).get("not") != {}]


__all__ = ["SCHEMA_PATH", "read_table", "schema", "validate"]
