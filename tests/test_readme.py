"""README stays true: its Quick start is what CI runs, and its plugin example is the tested one."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    install_and_run, install_and_test = commands
    assert "bench_runner --benchmark" in install_and_run
    assert install_and_test.endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_and_test in ci.splitlines()


def test_every_plugin_option_group_is_documented() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for flag in ("--gpu-layers", "--release-version", "--samples", "--resume", "--export", "--disable-plugin"):
        assert flag in text, flag


def test_the_command_and_hookspec_example_runs(cli_in_process, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"<!-- command-plugin: (\S+) -->\n```python\n(.*?)```", text, flags=re.S)
    assert len(found) == 1, "README has no command plugin example"
    name, code = found[0]
    (tmp_path / name).write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = name.removesuffix(".py")
    try:
        result = cli_in_process("greet", "ada", env={"BENCH_RUNNER_PLUGINS": f"echo_plugin,{module}"})
    finally:
        sys.modules.pop(module, None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello ada", "benchmarks: echo"]
