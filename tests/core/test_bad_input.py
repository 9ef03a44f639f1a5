"""Bad input, checked in-process: one line naming the problem and the fix, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.kernel import assert_one_line_error


def test_unknown_benchmark(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(cli_in_process("--benchmark", "nope"), "unknown benchmark 'nope'", "echo")


def test_unknown_backend(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(
        cli_in_process("--benchmark", "echo", "--backend", "nope"), "unknown backend 'nope'", "scripted"
    )


def test_bad_option_value(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(cli_in_process("--benchmark", "echo", "--temperature", "hot"), "hot")


def test_invalid_value_caught_by_the_records(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(
        cli_in_process("--benchmark", "echo", "--backend", "scripted", "--temperature", "-1"), "temperature"
    )


def test_missing_samples_file(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(
        cli_in_process("--benchmark", "echo", "--samples", "nowhere.jsonl"), "nowhere.jsonl", "does not exist"
    )


def test_malformed_samples_file(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.jsonl").write_text("{this is not json\n")
    assert_one_line_error(cli_in_process("--benchmark", "echo", "--samples", "bad.jsonl"), "bad.jsonl")


def test_samples_path_that_is_a_folder(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "folder").mkdir()
    assert_one_line_error(
        cli_in_process("--benchmark", "echo", "--samples", "folder"), "cannot read samples file 'folder'"
    )


def test_missing_config_file(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    assert_one_line_error(cli_in_process("--config", "nope.toml"), "nope.toml", "does not exist")


def test_config_path_that_is_a_folder(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "conf.toml").mkdir()
    assert_one_line_error(cli_in_process("--config", "conf.toml"), "cannot read config file 'conf.toml'")


def test_config_file_with_unknown_key(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.toml").write_text('benchmark = "echo"\ntemprature = 0.5\n')
    assert_one_line_error(cli_in_process("--config", "c.toml"), "temprature")


def test_config_file_with_wrong_type(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "c.json").write_text('{"benchmark": "echo", "backend": "scripted", "n_samples": "many"}')
    assert_one_line_error(cli_in_process("--config", "c.json"), "n_samples")


def test_unwritable_results_dir(cli_in_process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("")
    assert_one_line_error(
        cli_in_process("--benchmark", "echo", "--backend", "scripted", "--results-dir", "file/sub"),
        "not writable",
        "--results-dir",
    )


def test_record_wide_check_reads_plainly(cli_in_process) -> None:  # type: ignore[no-untyped-def]
    result = cli_in_process("--benchmark", "echo", "--backend", "scripted", "--max-iterations", "0")
    assert_one_line_error(result, "'max_iterations' must be > 0: 0;")
    assert " @" not in result.stderr
