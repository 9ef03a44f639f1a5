"""A code benchmark plugin (humaneval, lcb, ...) as a dataset: a system prompt is tuned, the sandbox grades.

Problems are split by a hash of their id (40% train, 20% validation, 40% test),
so the split does not depend on the order, the seed or the other problems.
Each reply is parsed and graded exactly as a ``bench_runner`` run grades it,
and the verdict's status and detail are the feedback.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from bench_runner import Benchmark, Completion, Problem
from bench_runner_optimizers.datasets import SPLITS, Example, Scored

INSTRUCTION = "You are an expert Python programmer. Write correct, complete code that passes all hidden tests."


def split_of(problem_id: str) -> str:
    bucket = int(hashlib.sha256(problem_id.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if bucket < 4 else "validation" if bucket < 6 else "test"


class CodeDataset:
    """The problems of a benchmark plugin, graded in the kernel's sandbox."""

    metric = "pass@1"

    def __init__(
        self,
        *,
        name: str,
        benchmark: Benchmark,
        problems: Sequence[Problem],
        workers: int | None,
        sandbox: Callable[[], Any] | None = None,
    ) -> None:
        self.name = name
        self.instruction = INSTRUCTION
        self.benchmark = benchmark
        self.source = f"the {name} benchmark plugin (split by sha256 of the problem id: 40/20/40)"
        self._problems = {p.id: p for p in problems}
        self._workers = workers
        #: makes the sandbox on first grading: a local pool, or the engine's (graders on a cluster)
        self._make_sandbox = sandbox or self._local_pool
        self._sandbox: Any = None
        self._lock = threading.Lock()
        self.splits: dict[str, tuple[Example, ...]] = {split: () for split in SPLITS}
        grouped: dict[str, list[Example]] = {split: [] for split in SPLITS}
        for problem in problems:
            split = split_of(problem.id)
            prompt = benchmark.prompt(problem, "chat")
            grouped[split].append(Example(id=problem.id, split=split, messages=prompt.messages, answer=""))
        self.splits = {split: tuple(grouped[split]) for split in SPLITS}

    def score(self, example: Example, output: str) -> Scored:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = self._make_sandbox()
        problem = self._problems[example.id]
        program = self.benchmark.parse(problem, Completion(text=output), "chat")
        verdict = self.benchmark.grade(problem, program, self._sandbox)
        if verdict.passed:
            return Scored(score=1.0, feedback="passed all tests")
        detail = verdict.detail.strip().splitlines()[-6:] if verdict.detail else []
        return Scored(score=0.0, feedback=f"{verdict.status}: " + ("\n".join(detail) or "no detail"))

    @property
    def protections(self) -> dict[str, Any]:
        """The sandbox's protections once it graded something (per node on a cluster)."""
        return dict(self._sandbox.protections) if self._sandbox is not None else {}

    def _local_pool(self) -> Any:
        from bench_runner_core.sandbox.pool import SandboxPool  # starts worker processes: only when grading

        return SandboxPool(workers=self._workers)

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
