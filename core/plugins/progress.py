"""Progress on stderr: a live bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import sys
import time

import structlog

from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import RunInfo, RunSummary, SampleResult

log = structlog.get_logger()


class Progress:
    def __init__(self, run: RunInfo) -> None:
        self.total = run.total_samples
        self.done = run.restored
        self.passed = run.restored_passed
        self.fresh = 0
        #: failed attempts that got another try (iterative modes)
        self.repairs = 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_log = 0.0

    def update(self, sample: SampleResult) -> None:
        self.done += 1
        self.fresh += 1
        self.passed += sample.verdict.passed
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.fresh * (self.total - self.done)
        rate = self.passed / self.done
        repairs = f" repairs {self.repairs}" if self.repairs else ""
        if self.tty:
            width = 30
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(
                f"\r[{bar}] {self.done}/{self.total} pass {rate:6.1%}{repairs} "
                f"eta {_clock(eta)} ({sample.problem_id})\x1b[K"
            )
            sys.stderr.flush()
        elif elapsed - self.last_log >= 2.0 or self.done == self.total:
            self.last_log = elapsed
            log.info(
                "progress",
                done=self.done,
                total=self.total,
                pass_rate=round(rate, 4),
                repairs=self.repairs,
                eta_s=round(eta, 1),
            )

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


_runs: dict[str, Progress] = {}


@hookimpl
def bench_runner_run_started(run: RunInfo) -> None:
    _runs[run.run_id] = Progress(run)


@hookimpl
def bench_runner_attempt_finished(run: RunInfo, sample: SampleResult) -> None:
    progress = _runs.get(run.run_id)
    if progress is not None:
        progress.repairs += 1


@hookimpl
def bench_runner_sample_finished(run: RunInfo, sample: SampleResult) -> None:
    progress = _runs.get(run.run_id)
    if progress is not None:
        progress.update(sample)


@hookimpl
def bench_runner_run_finished(run: RunInfo, summary: RunSummary) -> None:
    progress = _runs.pop(run.run_id, None)
    if progress is not None:
        progress.close()
