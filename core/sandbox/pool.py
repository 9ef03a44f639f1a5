"""The pool of pre-started sandbox workers that every code benchmark grades through."""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import structlog

from bench_runner_core.records import Verdict
from bench_runner_core.sandbox import cgroup, framing
from bench_runner_core.sandbox.jobs import CheckJob, Limits, StdioJob

log = structlog.get_logger()

#: the worker's whole environment; nothing else of ours (API keys...) reaches it
WORKER_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "PYTHONPATH", "LD_LIBRARY_PATH")
_START_TIMEOUT_S = 60.0


def _tmpfs_bytes(limits: Limits) -> int:
    # room for a few files at the size limit, never less than 256 MiB
    return max(4 * limits.file_size_bytes, 256 << 20)


class WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self, limits: Limits, cpu: int) -> None:
        self.cpu = cpu
        job_r, self._job_w = os.pipe()
        self._result_r, result_w = os.pipe()
        env = {key: os.environ[key] for key in WORKER_ENV_KEYS if key in os.environ}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench_runner_core.sandbox.worker",
                str(job_r),
                str(result_w),
                str(_tmpfs_bytes(limits)),
                str(limits.memory_bytes),
                str(cpu),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=(job_r, result_w),
            start_new_session=True,
            cwd="/",
        )
        os.close(job_r)
        os.close(result_w)
        self.hello: dict[str, Any] | None = None

    def wait_hello(self) -> dict[str, Any]:
        if self.hello is None:
            self.hello = self._receive(time.monotonic() + _START_TIMEOUT_S)
        return self.hello

    def _receive(self, deadline: float) -> Any:
        try:
            return pickle.loads(framing.receive_by(self._result_r, deadline))
        except framing.Timeout:
            raise WorkerDied("the worker did not answer in time") from None
        except EOFError:
            raise WorkerDied(f"the worker exited (status {self.process.poll()})") from None

    def run(self, job: StdioJob | CheckJob) -> tuple[Verdict | None, bool]:
        """(the verdict or None if the worker could not run the job, whether the worker is retiring)."""
        self.wait_hello()
        try:
            framing.send(self._job_w, pickle.dumps(job))
        except BrokenPipeError as exc:
            raise WorkerDied("the worker exited") from exc
        bound = job.limits.timeout_s + job.limits.pool_grace_s
        answer = self._receive(time.monotonic() + bound)
        if not (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], Verdict | None)):
            raise WorkerDied(f"unexpected answer {type(answer).__name__}")
        return answer

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        self.process.wait()
        if self.hello is not None:  # its mount of the temp root went away with it; the dir stays
            with contextlib.suppress(OSError):
                os.rmdir(self.hello["protections"]["temp_root"])
            for group in ("memory_cgroup", "cpu_cgroup"):
                if not cgroup.remove(self.hello["protections"].get(group)):
                    log.warning("sandbox_cgroup_left", group=self.hello["protections"][group])
        self.shut_down()
        if self._result_r >= 0:
            os.close(self._result_r)
            self._result_r = -1

    def shut_down(self) -> None:
        # Each fd is closed exactly once: closing a number twice could close another thread's new file.
        if self._job_w >= 0:
            os.close(self._job_w)  # EOF: the worker finishes and exits
            self._job_w = -1

    def close(self) -> None:
        self.shut_down()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.kill()


class SandboxPool:
    """Runs untrusted programs in pre-started, isolated worker processes.

    ``run`` is blocking and thread-safe: call it from as many threads as there
    are workers to grade in parallel. It never raises for anything a program
    does; a worker that dies is replaced and the job gets an ``error`` verdict.
    """

    def __init__(self, workers: int | None = None, limits: Limits = Limits()) -> None:  # noqa: B008 (frozen)
        self.limits = limits
        self.size = workers or os.cpu_count() or 1
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._protections: dict[str, Any] | None = None
        # one CPU per worker (when there are enough): a worker, its zygote and its program hand
        # control to each other many times per job, and on a single CPU each handoff is a plain
        # context switch instead of waking another (in a VM, halted) CPU with an interrupt
        allowed = sorted(os.sched_getaffinity(0))
        cpus = allowed if len(allowed) >= self.size else [-1]
        started = [_Worker(limits, cpus[index % len(cpus)]) for index in range(self.size)]
        for worker in started:
            self._adopt(worker)

    def _adopt(self, worker: _Worker) -> None:
        hello = worker.wait_hello()
        with self._lock:
            self._all.append(worker)
            if self._protections is None:
                self._protections = hello["protections"]
                for warning in hello["protections"]["warnings"]:
                    log.warning("sandbox_protection_unavailable", reason=warning)
        self._idle.put(worker)

    @property
    def protections(self) -> Mapping[str, Any]:
        """The protections in force in the workers and the default limits, for the run summary."""
        limits = self.limits
        return {
            **(self._protections or {}),
            "workers": self.size,
            "rlimits": {
                "address_space_bytes": limits.memory_bytes,
                "file_size_bytes": limits.file_size_bytes,
                "processes": limits.max_processes,
                "cpu_seconds": limits.cpu_seconds,
                "core_dumps": 0,
            },
            "time_limits": {
                "job_timeout_s": limits.timeout_s,
                "test_timeout_s": limits.test_timeout_s,
                "cpu_seconds_backstop": limits.cpu_seconds,
                "kill_grace_s": limits.kill_grace_s,
                "pool_grace_s": limits.pool_grace_s,
                "note": "defaults: each benchmark's jobs set their own timeouts",
            },
            "output_cap_bytes": limits.output_bytes,
            "stdin": "closed (/dev/null) for check jobs, the case input for stdio jobs",
            "stdio_cases": "a fresh fork per case of the job's confined process; "
            "what a case leaves running is killed and its temp dir emptied before the next",
        }

    def run(self, job: StdioJob | CheckJob) -> Verdict:
        """Grade one job. Blocks until a worker is free and the job is done."""
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        worker = self._idle.get()
        for _attempt in range(2):
            if worker.process.poll() is not None:
                # it died between jobs (killed from outside): replace it before it costs a job a verdict
                log.warning("sandbox_worker_died", reason=f"exit status {worker.process.returncode}")
                worker = self._replace(worker)
            try:
                verdict, retiring = worker.run(job)
            except (WorkerDied, OSError, EOFError, pickle.UnpicklingError) as exc:
                if self._closed:
                    return Verdict(status="error", detail="the sandbox pool was closed during the job")
                log.warning("sandbox_worker_died", reason=str(exc))
                self._idle.put(self._replace(worker))
                return Verdict(status="error", detail=f"the sandbox worker died: {exc}")
            if retiring:
                log.warning("sandbox_worker_retired", reason="its zygote is gone")
                worker = self._replace(worker)
            if verdict is not None:
                self._idle.put(worker)
                return verdict
        self._idle.put(worker)
        return Verdict(status="error", detail="no sandbox worker could run the job")

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        fresh = _Worker(self.limits, worker.cpu)
        fresh.wait_hello()
        with self._lock:
            self._all.append(fresh)
        return fresh

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:  # all of them wind down at once
            worker.shut_down()
        for worker in workers:
            worker.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
