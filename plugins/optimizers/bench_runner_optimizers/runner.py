"""One optimization run: its tasks in order, each optimized on train/validation, then scored on test.

Tasks run one after another, or ``parallel`` at once (threads; the engine decides where
their models generate and their code is graded). Either way the run's files (``files.py``)
are written here, by this process, so ``--resume`` and the results are the same with every engine.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import structlog

from bench_runner import BadInput
from bench_runner_core.convert import unstructure, write_json_atomic
from bench_runner_optimizers.datasets import SPLITS, Example
from bench_runner_optimizers.files import UNFINISHED, RunFiles, TaskResult, now_iso
from bench_runner_optimizers.harness import BudgetExhausted, Candidate, Harness
from bench_runner_optimizers.manifest import TaskSpec
from bench_runner_optimizers.models import Models, check_engine, engine_settings, placing_engine
from bench_runner_optimizers.rollouts import Cache, ModelCalls, Usage
from bench_runner_optimizers.stats import bootstrap

log = structlog.get_logger()


class OptimizeRun:
    """Runs the tasks of a run that are not done (``only`` limits which), checkpointing each."""

    def __init__(self, *, kernel: Any, files: RunFiles, manifest: Mapping[str, Any], tasks: Sequence[TaskSpec]) -> None:
        self.kernel = kernel
        self.files = files
        self.manifest = manifest
        self.tasks = list(tasks)
        self.optimizers = optimizer_registry(kernel.pm)
        self.models = Models(kernel, engine_settings(manifest))
        self._datasets: dict[str, Any] = {}
        self._datasets_lock = threading.Lock()
        self._lock = threading.Lock()  # the checkpoint, the summary and the model counts
        #: set on Ctrl-C: tasks still in threads record nothing more (the checkpoint says "interrupted")
        self._stopped = False
        self._checkpoint: dict[str, dict[str, Any]] = {}
        self._needed: Counter[str] = Counter()
        self._check_names()

    def _check_names(self) -> None:
        # A misspelled name fails the command before any file is written or model loaded.
        from bench_runner_optimizers.datasets import ALIASES, LOADERS

        registry = self.kernel.registry
        check_engine(self.kernel, self.manifest)
        benchmarks = {*registry.items["benchmark"], *registry.aliases["benchmark"]}
        for task in self.tasks:
            if task.optimizer not in self.optimizers:
                known = ", ".join(sorted(self.optimizers))
                raise BadInput(
                    f"unknown optimizer {task.optimizer!r} (known: {known})", "pick one or install its plugin"
                )
            if ALIASES.get(task.dataset, task.dataset) not in LOADERS and task.dataset not in benchmarks:
                known = ", ".join(sorted({*LOADERS, *registry.items["benchmark"]}))
                raise BadInput(
                    f"unknown dataset {task.dataset!r} (known: {known})", "pick one, or install the benchmark's plugin"
                )

    def execute(
        self, *, statuses: Sequence[str] = UNFINISHED, progress: Callable[[str], None] = print
    ) -> dict[str, Any]:
        self._checkpoint = self.files.checkpoint()
        todo = [t for t in self.tasks if self._checkpoint.get(t.id, {}).get("status", "pending") in statuses]
        parallel = max(1, int(self.manifest.get("parallel") or 1))
        if parallel > 1:
            # a model's tasks back to back: it is released (its GPU freed) before a later model needs one
            first: dict[str, int] = {}
            for task in todo:
                first.setdefault(Models.key(*_models_of(task)[0]), len(first))
            todo.sort(key=lambda t: first[Models.key(*_models_of(t)[0])])
        self._needed = Counter(Models.key(*m) for t in todo for m in _models_of(t))
        cache = Cache(self.files.dir / "cache.jsonl")
        try:
            _in_threads(todo, parallel, lambda task: self._one(task, cache, progress))
        except KeyboardInterrupt:
            self._interrupted()
            raise
        finally:
            self.models.close()
            for dataset in self._datasets.values():
                dataset.close()
        with self._lock:
            return self._write_summary()

    def _one(self, task: TaskSpec, cache: Cache, progress: Callable[[str], None]) -> None:
        self._set_status(task.id, {"status": "running", "started": now_iso()})
        progress(f"[{task.id}] optimizing")
        try:
            result = self._run_task(task, cache)
        except BadInput as exc:
            self._set_status(task.id, {"status": "failed", "error": str(exc), "finished": now_iso()})
            progress(f"[{task.id}] failed: {exc}")
            log.warning("task_failed", task=task.id, error=str(exc))
        else:
            write_json_atomic(self.files.task_path(task.id), unstructure(result))
            self._set_status(task.id, {"status": "done", "stop_reason": result.stop_reason, "finished": now_iso()})
            progress(
                f"[{task.id}] {result.stop_reason}: test {result.baseline_test.mean:.3f} -> "
                f"{result.optimized_test.mean:.3f} ({result.rollouts} rollouts, {result.duration_s:.1f}s)"
            )
        finally:
            self._release_models(task)
        with self._lock:
            if self._stopped:
                return
            summary = self._write_summary()
            record = next(r for r in summary["results"] if r["task_id"] == task.id)
            # the results plugin (or any other) records the finished task; the files above stay the truth
            self.kernel.pm.hook.bench_runner_optimization_finished(
                results_dir=str(self.files.root), run_id=self.files.run_id, result=record
            )

    def _interrupted(self) -> None:
        """Ctrl-C: the tasks still running in this process say so (``--resume`` runs them again)."""
        with self._lock:
            self._stopped = True
            for task_id, state in self._checkpoint.items():
                if state.get("status") == "running":
                    self._checkpoint[task_id] = {**state, "status": "interrupted", "stopped": now_iso()}
            self.files.write_checkpoint(self._checkpoint)
            self._write_summary()

    def _set_status(self, task_id: str, status: dict[str, Any]) -> None:
        with self._lock:
            if self._stopped:
                return
            self._checkpoint[task_id] = status
            self.files.write_checkpoint(self._checkpoint)

    def _write_summary(self) -> dict[str, Any]:
        from bench_runner_optimizers.results import summarize

        summary = summarize(self.files, self.manifest, self.tasks)
        write_json_atomic(self.files.summary, summary)
        return summary

    def _release_models(self, task: TaskSpec) -> None:
        done = []
        with self._lock:
            for spec, parameters in _models_of(task):
                key = Models.key(spec, parameters)
                self._needed[key] -= 1
                if self._needed[key] <= 0:
                    done.append((spec, parameters))
        for spec, parameters in done:
            self.models.release(spec, parameters)

    def _dataset(self, name: str, task: TaskSpec) -> Any:
        with self._datasets_lock:
            if name not in self._datasets:
                self._datasets[name] = open_dataset(self.kernel, name, self.manifest, task)
            return self._datasets[name]

    def _run_task(self, task: TaskSpec, cache: Cache) -> TaskResult:
        started = time.monotonic()
        dataset = self._dataset(task.dataset, task)
        examples = {role: _take(dataset.splits[task.sources[role]], task.counts[role]) for role in SPLITS}
        for role in ("train", "validation", "test"):
            if not examples[role]:
                raise BadInput(f"{task.dataset}: no {role} examples", "check the data dir and the split counts")
        model = self.models.get(task.model, task.model_parameters, benchmark=task.dataset)
        proposer_model = (
            self.models.get(task.proposer_model, task.model_parameters, benchmark=task.dataset)
            if task.proposer_model
            else model
        )
        workers = int(self.manifest.get("max_concurrent", 1))
        calls = ModelCalls(model=model, dataset=dataset, cache=cache, max_concurrent=workers)
        proposer = ModelCalls(model=proposer_model, dataset=dataset, cache=cache, max_concurrent=1)
        baseline = Candidate(instruction=dataset.instruction)
        harness = Harness(
            rollouts=calls,
            proposer=proposer,
            train=examples["train"],
            validation=examples["validation"],
            baseline=baseline,
            budget=task.budget,
            seed=task.seed,
            task_description=f"{task.dataset} ({dataset.metric}). Baseline prompt: {dataset.instruction}",
            params=task.prompt_params,
        )
        optimizer = self.optimizers[task.optimizer](**task.optimizer_params)
        try:
            optimizer.optimize(harness)
        except BudgetExhausted as exc:
            log.info("budget_exhausted", task=task.id, reason=str(exc))
        # An optimizer that caught the stop and returned (gepa does) still stopped for that reason.
        stop_reason = harness.exhausted.reason if harness.exhausted else "completed"
        # The test split is scored only here, after the optimizer has returned.
        test_calls = ModelCalls(model=model, dataset=dataset, cache=cache, max_concurrent=workers)
        base_scores = test_calls.evaluate(baseline, examples["test"], ())
        best = harness.best
        best_scores = test_calls.evaluate(best, examples["test"], harness.demo_messages(best))
        test_usage = Usage()
        for evaluation in (*base_scores.values(), *(best_scores.values() if best != baseline else ())):
            test_usage.add(evaluation.usage)
        pairs = {e.id: (base_scores[e.id].score, best_scores[e.id].score) for e in examples["test"]}
        usage = harness.usage
        return TaskResult(
            task=task,
            status="done",
            stop_reason=stop_reason,
            splits={role: len(examples[role]) for role in SPLITS},
            metric=dataset.metric,
            baseline=baseline,
            best=best,
            baseline_validation=harness.trials.get(baseline.key),
            best_validation=harness.best_score,
            baseline_test=bootstrap([[b for b, _ in pairs.values()]]),
            optimized_test=bootstrap([[o for _, o in pairs.values()]]),
            gain=bootstrap([[o - b for b, o in pairs.values()]]),
            test_scores=pairs,
            trials=len(harness.trials),
            rollouts=usage["task"].calls,
            proposer_tokens=usage["proposer"].tokens,
            usage=usage,
            test_usage=test_usage,
            cost=round(usage["task"].cost + usage["proposer"].cost + test_usage.cost, 6),
            duration_s=round(time.monotonic() - started, 3),
            history=tuple(harness.history),
            backend=dict(model.facts),
            sandbox=dict(getattr(dataset, "protections", None) or {}),
        )


def _take(examples: Sequence[Example], count: int) -> list[Example]:
    return list(examples[:count])


def _models_of(task: TaskSpec) -> list[tuple[str, Mapping[str, Any]]]:
    """The (spec, parameters) of the models a task uses: its task model, and its proposer if another."""
    models = [(task.model, task.model_parameters)]
    if task.proposer_model:
        models.append((task.proposer_model, task.model_parameters))
    return models


def _in_threads(items: Iterable[TaskSpec], parallel: int, work: Callable[[TaskSpec], None]) -> None:
    """``work`` on every item, ``parallel`` at once; the first error stops new items and is raised here."""
    queue = list(items)
    if parallel == 1:
        for item in queue:  # in this thread: Ctrl-C lands in the task, as always
            work(item)
        return
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if not queue or errors:
                    return
                item = queue.pop(0)
            try:
                work(item)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return

    # daemon threads: after Ctrl-C or an error the process may exit; --resume runs the unfinished tasks again
    threads = [
        threading.Thread(target=worker, daemon=True, name=f"optimize-{i}") for i in range(min(parallel, len(queue)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # wakes to take Ctrl-C: the kernel may hand the signal to another thread
            thread.join(0.1)
    if errors:
        raise errors[0]


def open_dataset(kernel: Any, name: str, manifest: Mapping[str, Any], task: TaskSpec) -> Any:
    """A text dataset by name, or any installed benchmark plugin's problems as a code dataset."""
    from bench_runner_optimizers.datasets import ALIASES, LOADERS, load_text_dataset

    if ALIASES.get(name, name) in LOADERS:
        return load_text_dataset(name, manifest.get("data_dir"))
    from bench_runner_optimizers.code_tasks import CodeDataset

    settings = {"benchmark": name, **engine_settings(manifest), **dict(task.model_parameters)}
    config = kernel.config(settings, f"the dataset {name!r}")  # an alias becomes the benchmark's name
    benchmark = kernel.registry.get("benchmark", config.benchmark).factory(config)
    engine = placing_engine(kernel, config)  # a cluster engine grades on its nodes
    return CodeDataset(
        name=name,
        benchmark=benchmark,
        problems=benchmark.load_problems(),
        workers=config.workers,
        sandbox=engine.place_sandbox if engine is not None else None,
    )


def optimizer_registry(pm: Any) -> dict[str, Callable[..., Any]]:
    """Every optimizer registered through ``bench_runner_register_optimizers``."""
    found: dict[str, Callable[..., Any]] = {}
    owners: dict[str, str] = {}
    for impl in pm.hook.bench_runner_register_optimizers.get_hookimpls():
        plugin = pm.get_name(impl.plugin) or repr(impl.plugin)

        def register(name: str, factory: Callable[..., Any], *, description: str = "", _plugin: str = plugin) -> None:
            if name in found:
                raise BadInput(
                    f"optimizer {name!r} is registered by both {owners[name]} and {_plugin}",
                    f"uninstall one, or disable it with --disable-plugin {_plugin}",
                )
            found[name], owners[name] = factory, _plugin

        impl.function(register=register)
    return found
