"""Runs a campaign's runs: ``parallel`` at once, in-process models within memory and shared back to back."""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Sequence
from typing import Any

import attrs
import structlog

from bench_runner_core.api import BadInput, PlacesWork
from bench_runner_core.kernel import Kernel
from bench_runner_core.machine import available_memory
from bench_runner_core.plugins.campaigns.backends import BackendCache, memory_needed, share_key
from bench_runner_core.plugins.campaigns.manifest import ManifestFile, RunEntry, TaskEntry
from bench_runner_core.records import RunConfig, RunSummary, SampleResult
from bench_runner_core.run import Run
from bench_runner_core.store import CONFIG, RunStore

log = structlog.get_logger()


@attrs.define
class Item:
    """A run waiting for a slot."""

    task: TaskEntry
    entry: RunEntry
    config: RunConfig
    key: Hashable | None
    memory: int
    resume: bool


class Scheduler:
    """Starts runs while slots, memory and shared loads allow; ``stop()`` ends in-flight runs cleanly."""

    def __init__(self, kernel: Kernel, manifest: ManifestFile, parallel: int, board: Any) -> None:
        self.kernel = kernel
        self.manifest = manifest
        self.parallel = max(1, parallel)
        self.board = board
        self.cache = BackendCache()
        self._queue: list[Item] = []
        self._running: dict[str, tuple[Item, Run | None]] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._timed_out: set[str] = set()

    # --- what to run -------------------------------------------------------

    def prepare(self, pairs: Sequence[tuple[TaskEntry, RunEntry]]) -> None:
        """Queue runs, grouping those that share a loaded model so they run back to back."""
        store = RunStore(self.manifest.manifest.results_dir)
        items = []
        for task, entry in pairs:
            resume = (store.run_dir(entry.run_id) / CONFIG).exists()
            if resume:
                config, _ = store.load_config(entry.run_id)
            else:
                config = self.kernel.config({**task.settings, "seed": entry.seed}, source=f"{task.source} ({task.key})")
            # a model an engine loads on cluster nodes (ray) takes no memory here: only local loads wait for it
            engine = self.kernel.registry.get("engine", config.engine).factory(config)
            memory = 0 if isinstance(engine, PlacesWork) else memory_needed(config)
            items.append(Item(task, entry, config, share_key(self.kernel, config), memory, resume))
        first: dict[Hashable, int] = {}
        for i, item in enumerate(items):
            first.setdefault(item.key if item.key is not None else ("run", i), i)
        self._queue = sorted(items, key=lambda it: first[it.key] if it.key is not None else items.index(it))

    # --- the loop ----------------------------------------------------------

    def run(self) -> None:
        threads = []
        try:
            while True:
                with self._cond:
                    if self._stopping or (not self._queue and not self._running):
                        break
                    item = self._pick()
                    if item is None:
                        self._cond.wait(0.5)
                        continue
                    self._queue.remove(item)
                    self._running[item.entry.run_id] = (item, None)
                thread = threading.Thread(target=self._run_one, args=(item,), name=f"campaign-{item.entry.run_id}")
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join()
        finally:
            self.cache.close_all()

    def stop(self) -> None:
        """No new runs; the runs in flight finish their samples in flight and stop."""
        with self._cond:
            self._stopping = True
            runs = [run for _, run in self._running.values() if run is not None]
            self._cond.notify_all()
        for run in runs:
            run.stop()

    def _pick(self) -> Item | None:
        if len(self._running) >= self.parallel:
            return None
        busy = {it.key for it, _ in self._running.values() if it.key is not None}
        free = available_memory()
        # runs that have not loaded their model yet will take its memory soon
        reserved = sum(it.memory for it, _ in self._running.values() if it.key and not self.cache.loaded(it.key))
        waiting = ""
        for item in self._queue:
            if item.key is not None and item.key in busy:
                continue  # one loaded model serves one run at a time; this one follows
            loading = item.key is not None and not self.cache.loaded(item.key)
            if loading and free is not None and item.memory > free - reserved:
                if self._running:
                    waiting = waiting or (
                        f"{item.task.display} waits for memory: needs {item.memory / 1e9:.1f} GB, "
                        f"{max(0, free - reserved) / 1e9:.1f} GB free"
                    )
                    continue
                log.warning("campaign_low_memory", model=item.task.display, needs=item.memory, free=free)
            self.board.waiting(waiting)
            return item
        self.board.waiting(waiting)
        return None

    # --- one run -----------------------------------------------------------

    def _run_one(self, item: Item) -> None:
        run_id = item.entry.run_id
        timer = None
        try:
            self.manifest.update(item.task.index, item.entry.rollout, status="running", error=None, exit_status=None)
            self.board.started(item.task, item.entry)
            done = self._finished_already(item)
            if done is not None:
                self._record(item, done[0], done[1])
                return
            if item.resume:
                run = self.kernel.resume_run(run_id, item.config.results_dir)
            else:
                run = self.kernel.new_run(item.config, run_id=run_id)
            with self._cond:
                self._running[run_id] = (item, run)
                if self._stopping:
                    run.stop()
            if item.task.timeout:
                timer = threading.Timer(item.task.timeout, self._time_out, args=(run_id, run))
                timer.daemon = True
                timer.start()
            summary = self._execute(run, item.key)
            self._record(item, summary, run.samples)
        except BadInput as exc:
            self._fail(item, 2, str(exc))
        except Exception as exc:  # a crash in one run must not take the campaign down
            log.exception("campaign_run_crashed", run_id=run_id)
            self._fail(item, 1, f"{type(exc).__name__}: {exc}")
        finally:
            if timer is not None:
                timer.cancel()
            with self._cond:
                self._running.pop(run_id, None)
                self._cond.notify_all()

    def _execute(self, run: Run, key: Hashable | None) -> RunSummary:
        """``Run.execute`` with the backend swapped for the shared load of its model."""
        run.plan()
        # an engine that places the backend elsewhere (ray) owns its lifetime: no sharing there
        if key is not None and run.backend is not None and not isinstance(run.engine, PlacesWork):
            run.backend = self.cache.acquire(key, run.backend)  # type: ignore[assignment]
        failure = None
        try:
            run.start()
            failure = run.drive()
        finally:
            run.close()
            if key is not None:
                with self._cond:
                    needed = any(it.key == key for it in self._queue) and not self._stopping
                self.cache.release(key, keep=needed)
        return run.finish(failure)

    def _finished_already(self, item: Item) -> tuple[RunSummary, list[SampleResult]] | None:
        """A run that completed before a crash hid it from the manifest: take its summary as it is."""
        store = RunStore(item.config.results_dir)
        path = store.summary_path(item.entry.run_id)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not data.get("complete"):
            return None
        from bench_runner_core.convert import structure

        summary = structure(data, RunSummary, what=str(path))
        return summary, store.read_samples(item.entry.run_id)

    def _time_out(self, run_id: str, run: Run) -> None:
        self._timed_out.add(run_id)
        log.warning("campaign_run_timed_out", run_id=run_id)
        run.stop()

    def _record(self, item: Item, summary: RunSummary, samples: Sequence[SampleResult]) -> None:
        run_id = item.entry.run_id
        errors = [s.final.completion.error for s in samples if s.final.completion.error]
        if not summary.complete:
            timed_out = run_id in self._timed_out
            status, code = ("timed_out", 124) if timed_out else ("interrupted", 130)
            error = f"stopped after {item.task.timeout:g}s (timeout)" if timed_out else "interrupted"
        elif errors:
            status, code = "failed", 2
            error = f"{len(errors)} of {len(samples)} samples failed to generate: {errors[0]}"
        else:
            status, code, error = "done", 0, None
        entry = self.manifest.update(item.task.index, item.entry.rollout, status=status, exit_status=code, error=error)
        self.board.finished(item.task, entry, summary)

    def _fail(self, item: Item, code: int, error: str) -> None:
        entry = self.manifest.update(
            item.task.index, item.entry.rollout, status="failed", exit_status=code, error=error
        )
        self.board.finished(item.task, entry, None)


__all__ = ["Scheduler"]
