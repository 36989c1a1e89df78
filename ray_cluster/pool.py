"""A pool of Ray actors, each holding one loaded pipeline; one task = a batch of employees' selfie sets, or one
set streamed headshot by headshot (a Ray generator) so the caller can store and count each as it is made.

Knows nothing of Django: the web side passes a PoolConfig built from its settings. Work in flight is bounded
(back-pressure), inputs travel to actors by object reference, actors restart and their tasks are retried.
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray

from inference.request import (
    DoneHeadshot,
    GenerationEvent,
    GenerationInput,
    GenerationOutput,
    HeadshotOutput,
)
from inference.streaming import generation_events

log = logging.getLogger(__name__)

DEFAULT_PIPELINE = "inference.pipeline:HeadshotPipeline"


# How often a wait for results checks that the cluster is still there.
HEALTH_CHECK_SECONDS = 5.0


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
    pipeline_options: tuple[tuple[str, Any], ...] = ()
    # A crashed actor is restarted (its pipeline rebuilt) up to max_restarts times; a task that was running on it
    # is sent again up to max_task_retries times, so a crash costs time, not results.
    max_restarts: int = 3
    max_task_retries: int = 2
    # Selfie sets per actor call: more amortises the per-call overhead (and fills a GPU), fewer lowers latency.
    batch_size: int = 1
    # Batches submitted but not yet collected, over all threads of this process; 0 means two per actor (one running,
    # one waiting), which keeps every actor busy while holding at most that many inputs in the object store.
    max_in_flight: int = 0
    # A batch with no result after this long means the cluster itself is gone (a head node restarted under us
    # leaves the driver waiting forever): the pool gives up, is discarded, and the job's retry joins Ray afresh.
    batch_timeout_s: float = 1800.0

    @property
    def in_flight_limit(self) -> int:
        return self.max_in_flight or 2 * self.num_actors

    def check(self) -> None:
        if self.num_actors < 1:
            raise ValueError(f"num_actors must be at least 1, got {self.num_actors}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.max_in_flight < 0:
            raise ValueError(f"max_in_flight must be 0 (automatic) or more, got {self.max_in_flight}")
        if self.batch_timeout_s <= 0:
            raise ValueError(f"batch_timeout_s must be positive, got {self.batch_timeout_s}")


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
            import torch  # lazy: optional for the studio pipeline; the web process never needs it

            torch.set_num_threads(1)
        except ImportError:  # torch is optional for the studio pipeline
            pass
        self.pipeline = _load_pipeline_class(pipeline_path)(**(pipeline_kwargs or {}))
        self.model_seconds = 0.0
        self.model_cpu_seconds = 0.0
        self.calls = 0

    def generate(self, request: GenerationInput) -> GenerationOutput:
        return self.generate_batch(request)[0]

    def generate_batch(self, *requests: GenerationInput) -> list[GenerationOutput]:
        # The inputs arrive as object references that Ray resolved before the call: nothing was copied through
        # the caller's task queue.
        started, cpu_started = time.perf_counter(), time.process_time()
        outputs = [self.pipeline.run(request) for request in requests]
        self.model_seconds += time.perf_counter() - started
        self.model_cpu_seconds += time.process_time() - cpu_started
        self.calls += 1
        return outputs

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """One set as a Ray generator: the plan, each headshot as soon as it is made, then the ranks."""
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield from generation_events(self.pipeline, request)
        finally:
            self.model_seconds += time.perf_counter() - started
            self.model_cpu_seconds += time.process_time() - cpu_started
            self.calls += 1

    def stats(self) -> dict[str, float]:
        """Wall and CPU seconds inside the pipeline and calls served since this actor (re)started: for benchmarks."""
        return {"model_seconds": self.model_seconds, "model_cpu_seconds": self.model_cpu_seconds,
                "calls": self.calls, "pid": os.getpid()}

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
        config.check()
        ensure_ray(config)
        self.config = config
        actor_options = {
            "num_cpus": config.num_cpus_per_actor,
            "num_gpus": config.num_gpus_per_actor,
            "max_restarts": config.max_restarts,
            "max_task_retries": config.max_task_retries,
        }
        kwargs = {**dict(config.pipeline_options), **(pipeline_kwargs or {})}
        self._new_actor = lambda: HeadshotActor.options(**actor_options).remote(config.pipeline, kwargs)
        self.actors = [self._new_actor() for _ in range(config.num_actors)]
        # Fail here, with a clear error, if the actors can't load their models (or the cluster went away meanwhile).
        try:
            ray.get([actor.ping.remote() for actor in self.actors], timeout=config.batch_timeout_s)
        except ray.exceptions.GetTimeoutError:
            raise RayUnavailableError(
                f"The pool's actors did not start within {config.batch_timeout_s:.0f} s "
                f"(RAY_BATCH_TIMEOUT_SECONDS): the cluster may be gone or out of resources.") from None
        except ray.exceptions.RayActorError as exc:
            # Actors that die before answering a ping mean a cluster in trouble (e.g. its head just restarted under
            # this connection): report it as unavailable, so the next attempt reconnects instead of reusing it.
            raise RayUnavailableError(f"The pool's actors died while starting: {exc}") from exc
        self.replaced = 0
        self._lock = threading.Lock()
        self._cursor = 0
        # Back-pressure: one slot per batch in flight, shared by every thread of this process.
        self._slots = threading.BoundedSemaphore(config.in_flight_limit)
        self._in_flight = 0
        self._actor_of: dict[ray.ObjectRef, Any] = {}
        self._sent_at: dict[ray.ObjectRef, float] = {}
        # Set when the cluster stopped answering: shared_pool() then builds a new pool on a new Ray connection.
        self.broken = False

    @property
    def in_flight(self) -> int:
        """Batches submitted and not yet collected (never above config.in_flight_limit)."""
        return self._in_flight

    def generate(self, requests: Iterable[GenerationInput]) -> Iterator[tuple[int, GenerationOutput]]:
        """Yield (index, output) as each set finishes, in completion order.

        `requests` is read lazily: a set is taken (and put into the object store) only when a slot is free, so a
        generator over 5,000 employees holds at most `in_flight_limit` batches in memory at once. Safe to call from
        several threads at once (a dramatiq worker runs jobs on threads): they share the slots, and actors are chosen
        round-robin under a lock.
        """
        mine: dict[ray.ObjectRef, list[int]] = {}
        numbered = enumerate(requests)
        try:
            while True:
                # A slot first, then the next inputs: nothing is read from `requests` while all slots are taken.
                # With all taken, collect one of ours before sending more; with none of ours out, wait for others.
                while not self._slots.acquire(blocking=not mine):
                    yield from self._collect_one(mine)
                with self._lock:
                    self._in_flight += 1
                try:
                    batch = list(islice(numbered, self.config.batch_size))
                    if not batch:
                        self._release()
                        break
                    refs = [ray.put(request) for _, request in batch]
                    mine[self._submit(refs)] = ([index for index, _ in batch], refs, 0)
                except BaseException:
                    self._release()
                    raise
            while mine:
                yield from self._collect_one(mine)
        finally:
            # The caller stopped early or a batch failed: give back the slots of what is still out.
            for ref in mine:
                self._release()
                self._actor_of.pop(ref, None)
                self._sent_at.pop(ref, None)
                if self.broken:
                    continue  # nothing to cancel on a cluster that is gone (and the call could block)
                try:
                    ray.cancel(ref)
                except Exception as exc:  # already finished, or the actor is gone: nothing to stop
                    log.debug("cancelling task %s after a failed batch: %s", ref, exc)

    def _submit(self, refs: list) -> ray.ObjectRef:
        actor = self._next_actor()
        ref = actor.generate_batch.remote(*refs)
        self._actor_of[ref] = actor
        self._sent_at[ref] = time.monotonic()
        return ref

    def _wait_one(self, mine: dict) -> ray.ObjectRef:
        """The first of `mine` to finish; RayUnavailableError (and the pool marked broken) if the cluster is gone."""
        while True:
            done, _ = ray.wait(list(mine), num_returns=1, timeout=HEALTH_CHECK_SECONDS)
            if done:
                return done[0]
            self._check_cluster(min(self._sent_at[ref] for ref in mine))

    def _check_cluster(self, waiting_since: float) -> None:
        """RayUnavailableError (and the pool marked broken) when the cluster stopped answering, or nothing came back
        for longer than batch_timeout_s."""
        try:
            if self.config.address != "local":
                _probe(self.config.address)
            waited = time.monotonic() - waiting_since
            if waited > self.config.batch_timeout_s:
                raise RayUnavailableError(
                    f"Ray returned nothing for {waited:.0f} s (limit RAY_BATCH_TIMEOUT_SECONDS="
                    f"{self.config.batch_timeout_s:.0f}); the cluster may have lost its head node.")
        except RayUnavailableError:
            self.broken = True
            raise

    def _collect_one(self, mine: dict) -> Iterator[tuple[int, GenerationOutput]]:
        ref = self._wait_one(mine)
        indices, refs, resent = mine.pop(ref)
        actor = self._actor_of.pop(ref, None)
        self._sent_at.pop(ref, None)
        try:
            outputs = ray.get(ref)
        except ray.exceptions.RayActorError:
            # The actor is gone for good (restarts used up) or its task ran out of retries: replace the actor, then
            # send the same inputs (still in the object store) again, keeping the slot.
            if resent >= max(1, self.config.max_task_retries):
                self._release()
                self.broken = True  # actors keep dying: the next caller gets a new pool on a new connection
                raise
            self._replace(actor)
            mine[self._submit(refs)] = (indices, refs, resent + 1)
            return
        self._release()
        yield from zip(indices, outputs, strict=True)

    def _replace(self, actor) -> None:
        with self._lock:
            if actor not in self.actors:
                return  # another thread replaced it already
            position = self.actors.index(actor)
            self.actors[position] = self._new_actor()
            self.replaced += 1
        try:
            ray.kill(actor, no_restart=True)
        except Exception as exc:  # already dead: nothing to stop
            log.debug("killing replaced actor %s: %s", actor, exc)

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    def generate_one(self, request: GenerationInput) -> GenerationOutput:
        return dict(self.generate([request]))[0]

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """One set's events as its actor makes them (inference.request.GenerationEvent): the plan, each headshot as
        soon as it is made, then the ranks of the whole set. The set holds one in-flight slot throughout.

        An actor that crashes mid-set costs only the headshot it was making: the set is sent again (to the restarted
        actor, or to a replacement for one gone for good) with every headshot already yielded in `done`, so none is
        made again or yielded twice, and the final ranks still cover all of them. Ray's own task retry is off for
        this call because it would replay the set from its first variant.
        """
        self._slots.acquire()
        with self._lock:
            self._in_flight += 1
        try:
            actor, resent = self._next_actor(), 0
            while True:
                try:
                    for event in self._events(actor, request):
                        if isinstance(event, HeadshotOutput):
                            request = dataclasses.replace(request, done=(*request.done, DoneHeadshot.of(event)))
                        yield event
                    return
                except ray.exceptions.RayActorError as exc:
                    if resent >= max(1, self.config.max_task_retries):
                        self.broken = True  # actors keep dying: the next caller gets a new pool on a new connection
                        raise
                    resent += 1
                    log.warning("actor died mid-set (%s); resuming with %d headshots done", type(exc).__name__,
                                len(request.done))
                    if not isinstance(exc, ray.exceptions.ActorUnavailableError):
                        self._replace(actor)  # gone for good (an unavailable one is being restarted by Ray)
                        actor = self._next_actor()
        finally:
            self._release()

    def _events(self, actor, request: GenerationInput) -> Iterator[GenerationEvent]:
        events = actor.stream.options(num_returns="streaming", max_task_retries=0).remote(ray.put(request))
        waiting_since, finished = time.monotonic(), False
        try:
            while True:
                ready, _ = ray.wait([events], num_returns=1, timeout=HEALTH_CHECK_SECONDS)
                if not ready:
                    self._check_cluster(waiting_since)
                    continue
                try:
                    ref = next(events)
                except StopIteration:
                    finished = True
                    return
                yield ray.get(ref)
                waiting_since = time.monotonic()
        finally:
            if not finished and not self.broken:
                try:
                    ray.cancel(events)  # the caller stopped early or the set failed: stop making the rest
                except Exception as exc:  # already finished, or the actor is gone: nothing to stop
                    log.debug("cancelling the rest of a streamed set: %s", exc)

    def _next_actor(self):
        with self._lock:
            actor = self.actors[self._cursor % len(self.actors)]
            self._cursor += 1
            return actor

    def stats(self) -> list[dict[str, float]]:
        return ray.get([actor.stats.remote() for actor in self.actors])

    def shutdown(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


class RayConnectionLost(RayUnavailableError):
    """This process's connection to a remote cluster stopped answering after it was made.

    Crash-only recovery: rather than re-initialising Ray inside a driver whose state belonged to a cluster that went
    away, shared_pool() refuses from then on and the process is restarted (teams.jobs does it for a worker), so the
    new process joins the (restarted) head from a clean start.
    """


_shared_pool: HeadshotPool | None = None
_shared_lock = threading.Lock()
_remote_lost = False


def ray_connection_lost() -> bool:
    """Whether this process lost its connection to a remote Ray cluster (see RayConnectionLost)."""
    pool = _shared_pool
    return _remote_lost or (pool is not None and pool.broken and pool.config.address != "local")


def shared_pool(config: PoolConfig) -> HeadshotPool:
    """One pool per process (a dramatiq worker keeps its actors, and their loaded models, across jobs)."""
    global _shared_pool, _remote_lost
    with _shared_lock:
        if _shared_pool is not None and _shared_pool.broken:
            if _shared_pool.config.address != "local":
                _remote_lost = True
            else:
                # Our own local Ray went wrong: drop its actors unasked and start it again.
                _shared_pool = None
                ray.shutdown()
        if _remote_lost:
            raise RayConnectionLost(f"This process lost its connection to Ray at {config.address!r}; "
                                    "only a restarted process can join it again.")
        if _shared_pool is None or _shared_pool.config != config:
            if _shared_pool is not None:
                _shared_pool.shutdown()
                _shared_pool = None
            try:
                _shared_pool = HeadshotPool(config)
            except RayUnavailableError as exc:
                if config.address != "local" and ray.is_initialized():
                    # Connected, then the actors never answered: the cluster went away under the new connection.
                    _remote_lost = True
                    raise RayConnectionLost(str(exc)) from exc
                ray.shutdown()  # the next attempt connects afresh instead of reusing a failed start
                raise
        return _shared_pool


def shutdown_shared_pool() -> None:
    global _shared_pool
    with _shared_lock:
        if _shared_pool is not None:
            _shared_pool.shutdown()
            _shared_pool = None
