"""A pool of Ray actors, each holding one loaded pipeline; one task = one employee's selfie set.

Knows nothing of Django: the web side passes a PoolConfig built from its settings.
"""
from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402

from inference.request import GenerationInput, GenerationOutput  # noqa: E402

log = logging.getLogger(__name__)

DEFAULT_PIPELINE = "inference.pipeline:HeadshotPipeline"


class RayUnavailableError(RuntimeError):
    """Ray could not be started or reached; the message says which address was tried."""


@dataclass(frozen=True)
class PoolConfig:
    # "local" starts a Ray inside this process's machine; "ray://host:10001" or "host:6379" joins a cluster.
    address: str = "local"
    num_actors: int = 1
    num_cpus_per_actor: float = 1.0
    # 1 (or a fraction) per actor on GPU workers in production; 0 on CPU machines.
    num_gpus_per_actor: float = 0.0
    # Only used when starting a local Ray.
    local_num_cpus: int | None = None
    object_store_mb: int = 256
    # Dotted "module:Class" of the pipeline each actor builds (benchmarks swap in a stand-in model).
    pipeline: str = DEFAULT_PIPELINE
    max_restarts: int = 3
    max_task_retries: int = 2


def _load_pipeline_class(path: str) -> type:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@ray.remote
class HeadshotActor:
    """Loads the pipeline once in __init__ (the expensive part) and then serves task after task."""

    def __init__(self, pipeline_path: str, pipeline_kwargs: dict[str, Any] | None = None):
        # One thread per actor: several actors share a machine, and oversubscribed BLAS threads are far slower.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # torch is optional for the studio pipeline
            pass
        self.pipeline = _load_pipeline_class(pipeline_path)(**(pipeline_kwargs or {}))

    def generate(self, request: GenerationInput) -> GenerationOutput:
        return self.pipeline.run(request)

    def ping(self) -> bool:
        return True

    def assigned_resources(self) -> dict[str, float]:
        """What Ray reserved for this actor (CPU share, GPUs), for health checks and tests."""
        return dict(ray.get_runtime_context().get_assigned_resources())


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when a cluster address doesn't answer: ray.init would otherwise retry for minutes."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms are Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RayUnavailableError(f"Ray at {address!r} does not answer ({exc.strerror or exc}). "
                                  "Check RAY_ADDRESS and that the Ray head is running.") from None


def ensure_ray(config: PoolConfig) -> None:
    if ray.is_initialized():
        return
    if config.address != "local":
        _probe(config.address)
    try:
        if config.address == "local":
            ray.init(
                address="local",
                num_cpus=config.local_num_cpus,
                include_dashboard=False,
                object_store_memory=config.object_store_mb * 1024 * 1024,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=config.address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # Ray raises several unrelated types for "can't connect"
        raise RayUnavailableError(f"Could not start or reach Ray at {config.address!r}: {exc}") from exc


class HeadshotPool:
    def __init__(self, config: PoolConfig, pipeline_kwargs: dict[str, Any] | None = None):
        ensure_ray(config)
        self.config = config
        actor_options = {
            "num_cpus": config.num_cpus_per_actor,
            "num_gpus": config.num_gpus_per_actor,
            "max_restarts": config.max_restarts,
            "max_task_retries": config.max_task_retries,
        }
        self.actors = [
            HeadshotActor.options(**actor_options).remote(config.pipeline, pipeline_kwargs)
            for _ in range(config.num_actors)
        ]
        # Fail here, with a clear error, if the actors can't load their models.
        ray.get([actor.ping.remote() for actor in self.actors])
        self._lock = threading.Lock()
        self._cursor = 0

    def generate(self, requests: Iterable[GenerationInput]) -> Iterator[tuple[int, GenerationOutput]]:
        """Yield (index, output) as each set finishes, in completion order.

        Safe to call from several threads at once (a dramatiq worker runs jobs on threads): actors are
        chosen round-robin under a lock, and Ray queues calls on a busy actor.
        """
        index_of: dict[ray.ObjectRef, int] = {}
        for index, request in enumerate(requests):
            index_of[self._next_actor().generate.remote(request)] = index
        pending = list(index_of)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield index_of[done[0]], ray.get(done[0])

    def generate_one(self, request: GenerationInput) -> GenerationOutput:
        return next(self.generate([request]))[1]

    def _next_actor(self):
        with self._lock:
            actor = self.actors[self._cursor % len(self.actors)]
            self._cursor += 1
            return actor

    def shutdown(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


_shared_pool: HeadshotPool | None = None
_shared_lock = threading.Lock()


def shared_pool(config: PoolConfig) -> HeadshotPool:
    """One pool per process (a dramatiq worker keeps its actors, and their loaded models, across jobs)."""
    global _shared_pool
    with _shared_lock:
        if _shared_pool is None or _shared_pool.config != config:
            if _shared_pool is not None:
                _shared_pool.shutdown()
            _shared_pool = HeadshotPool(config)
        return _shared_pool


def shutdown_shared_pool() -> None:
    global _shared_pool
    with _shared_lock:
        if _shared_pool is not None:
            _shared_pool.shutdown()
            _shared_pool = None
