"""Live campaign status on stderr: a line per run in flight and a campaign bar on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import attrs
import structlog

from bench_runner_core.plugins.campaigns.manifest import RunEntry, TaskEntry
from bench_runner_core.plugins.progress import _clock
from bench_runner_core.records import RunInfo, RunSummary, SampleResult

log = structlog.get_logger()


@attrs.define
class Line:
    task: TaskEntry
    entry: RunEntry
    total: int = 0
    done: int = 0
    passed: int = 0
    fresh: int = 0
    tokens: int = 0
    seconds: float = 0.0
    started: float = attrs.field(factory=time.monotonic)
    last_log: float = 0.0

    def text(self) -> str:
        rate = f"{self.passed / self.done:6.1%}" if self.done else "    - "
        speed = f"{self.tokens / self.seconds:7.1f} tok/s" if self.seconds > 0 and self.tokens else "      - tok/s"
        return (
            f"  {self.task.display[:28]:28} {self.task.benchmark[:14]:14} r{self.entry.rollout}  "
            f"{self.done:>5}/{self.total:<5} pass {rate}  {speed}  eta {_clock(self.eta())}"
        )

    def eta(self) -> float:
        if not self.fresh:
            return 0.0
        return (time.monotonic() - self.started) / self.fresh * max(0, self.total - self.done)


class StatusBoard:
    """What the campaign is doing; the run hooks of the campaigns plugin feed it."""

    def __init__(self, total_runs: int, finished_runs: int, verbose: int, tty: bool | None = None) -> None:
        self.total_runs = total_runs
        self.finished_runs = finished_runs
        self.failed_runs = 0
        self.verbose = verbose
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.lines: dict[str, Line] = {}
        self._waiting = ""
        self._drawn = 0
        self._lock = threading.RLock()
        self._started = time.monotonic()
        self._closed = threading.Event()
        if self.tty:
            threading.Thread(target=self._redraw_loop, name="campaign-status", daemon=True).start()

    # --- events ------------------------------------------------------------

    def started(self, task: TaskEntry, entry: RunEntry) -> None:
        with self._lock:
            self.lines[entry.run_id] = Line(task=task, entry=entry)
        if not self.tty:
            log.info("campaign_run_started", task=task.key, rollout=entry.rollout, run_id=entry.run_id)

    def run_started(self, run: RunInfo) -> None:
        with self._lock:
            line = self.lines.get(run.run_id)
            if line is not None:
                line.total, line.done, line.passed = run.total_samples, run.restored, run.restored_passed

    def sample(self, run: RunInfo, sample: SampleResult) -> None:
        with self._lock:
            line = self.lines.get(run.run_id)
            if line is None:
                return
            line.done += 1
            line.fresh += 1
            line.passed += sample.verdict.passed
            for attempt in sample.attempts:
                line.tokens += attempt.completion.completion_tokens or 0
                line.seconds += attempt.completion.duration_s
            now = time.monotonic()
            if self.verbose and now - line.last_log >= 2.0:
                line.last_log = now
                log.info(
                    "campaign_run_progress",
                    task=line.task.key,
                    rollout=line.entry.rollout,
                    done=line.done,
                    total=line.total,
                    pass_rate=round(line.passed / line.done, 4),
                    eta_s=round(line.eta(), 1),
                )

    def finished(self, task: TaskEntry, entry: RunEntry, summary: RunSummary | None) -> None:
        with self._lock:
            self.lines.pop(entry.run_id, None)
            self.finished_runs += 1
            self.failed_runs += entry.status == "failed"
            score = summary.summary.pass_at_k.get("pass@1") if summary is not None else None
            fields: dict[str, Any] = {"task": task.key, "rollout": entry.rollout, "run_id": entry.run_id}
            fields |= {"status": entry.status, "pass_at_1": score, "error": entry.error}
            if self.tty:
                self._clear()
                mark = "done" if entry.status == "done" else entry.status.upper()
                shown = "-" if score is None else f"{score:.4f}"
                tail = f"  ({entry.error})" if entry.error else ""
                sys.stderr.write(f"{mark:>11} {task.key} r{entry.rollout}  pass@1={shown}{tail}\n")
                self._draw()
            else:
                log.info("campaign_run_finished", done=self.finished_runs, of=self.total_runs, **fields)

    def waiting(self, message: str) -> None:
        with self._lock:
            if message and message != self._waiting and not self.tty:
                log.info("campaign_waiting", reason=message)
            self._waiting = message

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self.tty:
                self._clear()

    # --- the terminal ------------------------------------------------------

    def _redraw_loop(self) -> None:
        while not self._closed.wait(0.5):
            with self._lock:
                self._clear()
                self._draw()

    def _clear(self) -> None:
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        rows = [line.text() for line in self.lines.values()]
        width = 30
        filled = int(width * self.finished_runs / max(1, self.total_runs))
        bar = "#" * filled + "-" * (width - filled)
        failed = f"  {self.failed_runs} failed" if self.failed_runs else ""
        elapsed = _clock(time.monotonic() - self._started)
        rows.append(f"campaign [{bar}] {self.finished_runs}/{self.total_runs} runs{failed}  {elapsed}")
        if self._waiting:
            rows.append(f"  {self._waiting}")
        sys.stderr.write("\n".join(rows) + "\n")
        sys.stderr.flush()
        self._drawn = len(rows)


__all__ = ["StatusBoard"]
