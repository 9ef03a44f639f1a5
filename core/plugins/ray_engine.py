"""The ``ray`` engine: generation and grading spread over a Ray cluster; the run store stays here.

Generation runs in Ray actors that each build and hold the backend (an
in-process GGUF model loads on the actor's node, never on the driver, and
asks Ray for a GPU when ``--gpu-layers`` is set). Grading runs in Ray actors
that each own a sandbox pool on their node. The driver schedules exactly as
the ``local`` engine does, through stand-ins with the Backend and Sandbox
contracts, so every finished sample is checkpointed here and ``--resume``,
summaries and history behave the same.

Faults: actors restart when they die (``max_restarts``) and Ray retries the
calls that were in flight on the restarted actor (``max_task_retries``); a
sample is recorded once, by the driver, when its call returns. Ray is
imported only when a run uses this engine.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from bench_runner_core.api import Backend, BadInput, Option, RunJob
from bench_runner_core.hookspecs import hookimpl
from bench_runner_core.records import Completion, GenerationRequest, PromptStyle, RunConfig, Verdict
from bench_runner_core.registry import EngineRegistrar, OptionRegistrar

log = structlog.get_logger()

#: calls one actor takes at once; the engine never sends more than the backend's concurrency
_MAX_CALLS_PER_ACTOR = 64

#: environment a Ray worker needs to load the same plugins as the driver
_FORWARDED_ENV = ("PYTHONPATH", "BENCH_RUNNER_PLUGINS", "BENCH_RUNNER_LOAD_PLUGINS", "BENCH_RUNNER_DISABLE_PLUGINS")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BadInput("--engine ray needs Ray", "pip install 'bench-runner[ray]'") from None
    return ray


class _Cluster:
    """A connection to Ray, shared by every stand-in of this process; a local instance we started is stopped
    when the last of them closes (runs of a campaign, tasks of an optimization run, share one instance).

    Ray ties a local instance's processes to the *thread* that starts them (``PR_SET_PDEATHSIG``): started
    from a campaign run's thread, the instance would die with that run while others still use it. So
    ``ray.init`` and ``ray.shutdown`` happen in a thread of our own that lives until the last user leaves.
    """

    def __init__(self, address: str | None) -> None:
        self.ray = _import_ray()
        self.address = address
        self._users = 0
        self._leave = threading.Event()
        self._owner: threading.Thread | None = None
        if not self.ray.is_initialized():
            env = {name: os.environ[name] for name in _FORWARDED_ENV if name in os.environ}
            local = {} if address else {"_node_ip_address": "127.0.0.1"}  # an instance of our own stays on loopback
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home from a benchmark run
            try:
                self._init_in_owner_thread(
                    address=address,
                    **local,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                    runtime_env={"env_vars": env} if env else None,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = address or "a new local instance"
                raise BadInput(
                    f"cannot start or reach Ray at {where} ({exc})",
                    "check --ray-address (leave it out to start a local instance, `auto` joins a running cluster)",
                ) from None
        log.info("ray_connected", address=address or "local", resources=self.ray.cluster_resources())

    def _init_in_owner_thread(self, **options: Any) -> None:
        ready = threading.Event()
        failed: list[BaseException] = []

        def own() -> None:
            try:
                self.ray.init(**options)
            except BaseException as exc:  # handed to the caller below
                failed.append(exc)
                return
            finally:
                ready.set()
            self._leave.wait()
            self.ray.shutdown()

        # a daemon: a process that ends without closing its runs still takes its instance with it
        self._owner = threading.Thread(target=own, name="ray-owner", daemon=True)
        self._owner.start()
        ready.wait()
        if failed:
            raise failed[0]

    def release(self) -> None:
        """One user less; the last one stops an instance started here. Under the lock, shutdown included:
        a run that starts meanwhile waits for it, then starts a fresh instance."""
        with _CLUSTERS_LOCK:
            self._users -= 1
            if self._users:
                return
            if _CLUSTERS.get(self.address) is self:
                del _CLUSTERS[self.address]
            if self._owner is not None:
                self._leave.set()
                self._owner.join()


_CLUSTERS: dict[str | None, _Cluster] = {}
_CLUSTERS_LOCK = threading.Lock()


def _cluster(address: str | None) -> _Cluster:
    """The process's connection to the cluster at ``address``, with one more user: ``release`` it when done.

    Counted here, under the lock: a user that got the connection is counted before anyone can stop it.
    """
    with _CLUSTERS_LOCK:
        if address not in _CLUSTERS:
            _CLUSTERS[address] = _Cluster(address)
        cluster = _CLUSTERS[address]
        cluster._users += 1
        return cluster


def _remote_call(ray: Any, ref: Any) -> Any:
    """``ray.get`` that turns a ``BadInput`` raised in an actor back into one here, fix included."""
    result = ray.get(ref)
    if isinstance(result, tuple) and len(result) == 3 and result[0] == "bad_input":
        raise BadInput(result[1], result[2])
    return result


def _close_actors(cluster: _Cluster, actors: list[Any]) -> None:
    """Let each actor release what it holds, stop it, and leave the cluster when nobody else uses it."""
    for actor in actors:
        try:
            cluster.ray.get(actor.close.remote(), timeout=30)
        except Exception as exc:  # an actor that is already gone has nothing to release
            log.debug("ray_actor_close_failed", error=repr(exc))
        cluster.ray.kill(actor)
    cluster.release()


class _GenerationActor:
    """Builds the backend where it runs and starts it on first use, so a restarted actor carries on."""

    def __init__(self, make: Callable[[], Backend]) -> None:
        self.backend = make()
        self.facts: Mapping[str, Any] | None = None
        self.lock = threading.Lock()

    def _started(self) -> Backend:
        with self.lock:
            if self.facts is None:
                self.facts = dict(self.backend.start())
        return self.backend

    def start(self) -> Any:
        try:
            backend = self._started()
            return dict(self.facts or {}), backend.default_prompt_style(), backend.concurrency
        except BadInput as exc:
            return ("bad_input", exc.problem, exc.fix)

    def generate(self, request: GenerationRequest) -> Any:
        try:
            return self._started().generate(request)
        except BadInput as exc:
            return ("bad_input", exc.problem, exc.fix)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.backend.close()


class _GradingActor:
    """A sandbox pool on this actor's node."""

    def __init__(self, workers: int | None) -> None:
        from bench_runner_core.sandbox.pool import SandboxPool

        self.pool = SandboxPool(workers=workers)

    def protections(self) -> tuple[str, Mapping[str, Any]]:
        import ray

        return ray.get_runtime_context().get_node_id(), dict(self.pool.protections)

    def run(self, job: Any) -> Verdict:
        return self.pool.run(job)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.pool.close()


class RayBackend:
    """The Backend stand-in: each ``generate`` goes to one of the generation actors, round robin."""

    def __init__(
        self, cluster: _Cluster, make: Callable[[], Backend], local: Backend, actors: int, gpus: float
    ) -> None:
        self.cluster = cluster
        self.ray = cluster.ray
        self.actors: list[Any] = []
        try:
            remote = self.ray.remote(_GenerationActor).options(
                num_cpus=0,
                num_gpus=gpus,
                max_restarts=-1,
                max_task_retries=-1,
                # a backend may learn its concurrency only when started (batched llama_cpp): leave it room
                max_concurrency=_MAX_CALLS_PER_ACTOR,
            )
            self.actors = [remote.remote(make) for _ in range(actors)]
            self.concurrency = max(1, local.concurrency) * actors
            self._style: PromptStyle = local.default_prompt_style()
        except BaseException:
            _close_actors(cluster, self.actors)  # a stand-in that never came to be holds nothing
            raise
        self._next = itertools.cycle(self.actors)
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> Mapping[str, Any]:
        started = [_remote_call(self.ray, actor.start.remote()) for actor in self.actors]
        facts, self._style, per_actor = started[0]
        self.concurrency = max(1, per_actor) * len(self.actors)
        return {**facts, "ray_generators": len(self.actors)}

    def default_prompt_style(self) -> PromptStyle:
        return self._style

    def generate(self, request: GenerationRequest) -> Completion:
        with self._lock:
            actor = next(self._next)
        return _remote_call(self.ray, actor.generate.remote(request))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _close_actors(self.cluster, self.actors)


class RaySandbox:
    """The Sandbox stand-in: jobs go to grading actors (one per node unless told otherwise), round robin."""

    def __init__(self, cluster: _Cluster, workers: int | None, actors: int | None) -> None:
        self.cluster = cluster
        self.ray = cluster.ray
        self.actors: list[Any] = []
        try:
            nodes = [node for node in self.ray.nodes() if node.get("Alive")]
            count = actors or max(1, len(nodes))
            size = workers or os.cpu_count() or 2
            remote = self.ray.remote(_GradingActor).options(
                num_cpus=1, max_restarts=-1, max_task_retries=-1, max_concurrency=size + 1, scheduling_strategy="SPREAD"
            )
            self.actors = [remote.remote(workers) for _ in range(count)]
            nodes_seen = dict(self.ray.get([actor.protections.remote() for actor in self.actors]))
        except BaseException:
            _close_actors(cluster, self.actors)  # a stand-in that never came to be holds nothing
            raise
        first = next(iter(nodes_seen.values()))
        self.protections: Mapping[str, Any] = {**first, "nodes": nodes_seen}
        self._next = itertools.cycle(self.actors)
        self._lock = threading.Lock()
        self._closed = False

    def run(self, job: Any) -> Verdict:
        with self._lock:
            actor = next(self._next)
        return self.ray.get(actor.run.remote(job))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _close_actors(self.cluster, self.actors)


class RayEngine:
    """Places the backend and the sandbox on Ray, then schedules like the local engine."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.address = config.options.get("ray_address") or None

    def place_backend(self, backend: Backend, make: Callable[[], Backend]) -> Backend:
        gpu_layers = self.config.options.get("gpu_layers")
        gpus = 1.0 if gpu_layers not in (None, 0, "0") else 0.0
        actors = int(self.config.options.get("ray_generators") or 1)
        return RayBackend(_cluster(self.address), make, backend, actors, gpus)

    def place_sandbox(self) -> RaySandbox:
        return RaySandbox(_cluster(self.address), self.config.workers, self.config.options.get("ray_graders"))

    def execute(self, job: RunJob) -> None:
        from bench_runner_core.plugins.local_engine import LocalEngine

        LocalEngine(self.config).execute(job)


def _ray_engine(config: RunConfig) -> RayEngine:
    _import_ray()  # fail before anything starts when the extra is missing
    return RayEngine(config)


@hookimpl
def bench_runner_register_engines(register: EngineRegistrar) -> None:
    register(
        "ray", _ray_engine, description="generation and grading on a Ray cluster (pip install 'bench-runner[ray]')"
    )


@hookimpl
def bench_runner_register_options(register: OptionRegistrar) -> None:
    group = "ray engine"
    register(
        Option(
            name="ray_address",
            help="Ray cluster to join (`auto`: the running one; default: start a local instance)",
            group=group,
        )
    )
    register(Option(name="ray_generators", type="int", help="generation actors (each holds the model)", group=group))
    register(
        Option(
            name="ray_graders",
            type="int",
            help="grading actors (default: one per node), each a sandbox pool",
            group=group,
        )
    )
