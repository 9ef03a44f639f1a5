"""Bad input through the installed command: one line naming the problem and the fix, exit code 2, no traceback.

The other cases run in-process in tests/core/test_bad_input.py; these few prove the real executable behaves the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.kernel import assert_one_line_error


def test_unknown_option_suggests_the_right_one(bench) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(bench("--benchmark", "echo", "--temprature", "0.2"), "--temprature", "--temperature")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_samples_file(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "locked.jsonl"
    path.write_text('{"id": "e0", "answer": "0"}\n')
    path.chmod(0)
    assert_one_line_error(bench("--benchmark", "echo", "--samples", "locked.jsonl"), "locked.jsonl")


def test_malformed_config_file(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text("benchmark = \n")
    assert_one_line_error(bench("--config", "c.toml"), "c.toml", "not valid TOML")


def test_unknown_resume_id(bench) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(bench("--resume", "bench_0123abcd_20260101_000000"), "no run")


def test_a_history_file_the_run_could_not_write_stops_it_before_it_starts(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "h.json").write_text("{not json")
    assert_one_line_error(bench("--benchmark", "echo", "--history", "h.json"), "h.json", "not valid JSON", "--history")
    (tmp_path / "a-file").write_text("")
    assert_one_line_error(
        bench("--benchmark", "echo", "--history", "a-file/h.json"), "a-file/h.json", "not writable", "--history"
    )
    assert not list((tmp_path / "benchmark_results").glob("bench_*")), "no run was started"
