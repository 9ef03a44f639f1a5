"""Every hook is documented and has a plugin implementing it (the datasette rule)."""

from __future__ import annotations

import inspect
from pathlib import Path

from bench_runner_core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bench_runner_")]


def test_every_hook_has_a_docstring_saying_when_it_is_called() -> None:
    assert len(HOOKS) == 10
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 40, name


def test_every_hook_has_an_implementation() -> None:
    implementations = "\n".join(p.read_text() for p in (ROOT / "core" / "plugins").rglob("*.py"))
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_hookspecs.py")
    for name in HOOKS:
        assert f"def {name}(" in implementations + tests, f"no plugin implements {name}"
