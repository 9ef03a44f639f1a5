"""Every hook is documented and has a plugin implementing it (the datasette rule)."""

from __future__ import annotations

import inspect

from bench_runner_core import hookspecs
from bench_runner_core.manager import DEFAULT_PLUGINS, make_plugin_manager
from tests.fixtures import command_plugin, echo_plugin

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("bench_runner_")]


def test_every_hook_has_a_docstring_saying_when_it_is_called() -> None:
    assert len(HOOKS) == 14
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 40, name


def test_every_hook_has_an_implementation() -> None:
    # the built-ins plus the test plugins, as the suite loads them: each spec has a registered hookimpl
    pm = make_plugin_manager(
        builtins=DEFAULT_PLUGINS, extra_plugins=[echo_plugin, command_plugin], load_entry_points=False
    )
    implemented = {name: [impl.plugin_name for impl in getattr(pm.hook, name).get_hookimpls()] for name in HOOKS}
    assert [name for name, plugins in implemented.items() if not plugins] == []
    # a hook a plugin added with bench_runner_add_hookspecs is implemented too
    assert pm.hook.bench_runner_greetings.get_hookimpls()
