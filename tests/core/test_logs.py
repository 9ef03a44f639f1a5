from __future__ import annotations

import json

import pytest
import structlog

from bench_runner_core.logs import configure_logging


def test_a_logged_exception_keeps_its_traceback_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    try:
        raise OSError(9, "Bad file descriptor")
    except OSError:
        structlog.get_logger().exception("run_crashed", run_id="r1")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "run_crashed"
    assert "Traceback" in line["exception"] and "test_a_logged_exception" in line["exception"]
