"""The pool under load: bounded work in flight, inputs by reference, batches, and settings-driven size."""
from __future__ import annotations

import threading

import pytest
import ray

from inference.brand import BrandSpec
from inference.request import GenerationInput, SelfieInput
from ray_cluster.pool import HeadshotPool, PoolConfig
from tests.rollouts.conftest import STANDIN


@pytest.fixture(scope="module")
def slow_pool(local_ray):
    pool = HeadshotPool(PoolConfig(num_actors=2, num_cpus_per_actor=0.25, pipeline=STANDIN, max_in_flight=3,
                                   batch_size=2, pipeline_options=(("delay_seconds", 0.05),)))
    yield pool
    pool.shutdown()


def sets(n: int, pulled: list[int] | None = None):
    for i in range(n):
        if pulled is not None:
            pulled.append(i)
        yield GenerationInput(selfies=(SelfieInput(name=str(i), data=b"x" * 1000),),
                              brand=BrandSpec(variants_per_person=2))


def test_a_long_rollout_is_read_lazily_and_never_has_more_than_the_limit_in_flight(slow_pool):
    pulled: list[int] = []
    results, worst, worst_ahead = {}, 0, 0
    for index, output in slow_pool.generate(sets(40, pulled)):
        results[index] = output
        worst = max(worst, slow_pool.in_flight)
        worst_ahead = max(worst_ahead, len(pulled) - len(results))
    assert sorted(results) == list(range(40))
    assert all(len(out.headshots) == 2 and out.selfies[0].name == str(i) for i, out in results.items())
    assert worst <= 3
    # Inputs are taken from the generator only when a slot is free: at most 3 batches of 2 beyond what came back.
    assert worst_ahead <= 3 * 2
    assert slow_pool.in_flight == 0


def test_threads_share_the_slots(slow_pool):
    worst, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            worst[0] = max(worst[0], slow_pool.in_flight)

    watcher = threading.Thread(target=watch)
    watcher.start()
    outputs = []
    threads = [threading.Thread(target=lambda: outputs.append(dict(slow_pool.generate(sets(6))))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stop.set()
    watcher.join()
    assert len(outputs) == 4 and all(sorted(o) == list(range(6)) for o in outputs)
    assert worst[0] <= 3


def test_an_abandoned_generator_gives_its_slots_back(slow_pool):
    stream = slow_pool.generate(sets(20))
    next(stream)
    stream.close()
    assert slow_pool.in_flight == 0


def test_batches_are_spread_over_the_actors_from_the_config(slow_pool):
    before = {s["pid"]: s["calls"] for s in slow_pool.stats()}
    dict(slow_pool.generate(sets(8)))
    after = slow_pool.stats()
    assert sum(s["calls"] for s in after) - sum(before.values()) == 4  # 8 sets in batches of 2
    assert all(s["calls"] > before.get(s["pid"], 0) for s in after)
    assert ray.get([a.assigned_resources.remote() for a in slow_pool.actors]) == [{"CPU": 0.25}] * 2


def test_pool_settings_come_from_the_environment(settings):
    from teams.generation import pool_config

    settings.RAY_BATCH_SIZE, settings.RAY_MAX_IN_FLIGHT, settings.RAY_NUM_GPUS_PER_ACTOR = 4, 12, 0.5
    settings.RAY_MAX_RESTARTS, settings.RAY_MAX_TASK_RETRIES = 5, 7
    settings.RAY_PIPELINE, settings.RAY_PIPELINE_OPTIONS = STANDIN, '{"delay_seconds": 1}'
    config = pool_config()
    assert (config.batch_size, config.in_flight_limit, config.num_gpus_per_actor) == (4, 12, 0.5)
    assert (config.max_restarts, config.max_task_retries) == (5, 7)
    assert dict(config.pipeline_options) == {"delay_seconds": 1}
    # The default pipeline is the backend router, given the deployment's backend settings.
    settings.RAY_PIPELINE, settings.RAY_PIPELINE_OPTIONS = "inference.backends:BackendRouter", "{}"
    settings.INFERENCE_BACKEND, settings.MODEL_STORE = "diffusion", "/srv/models"
    from inference.matting import DEFAULT_MODEL_PATH

    # By default the file `make` fetches; the environment (PORTRAIT_MATTE_MODEL) may point elsewhere.
    assert settings.PORTRAIT_MATTE_MODEL == str(DEFAULT_MODEL_PATH)
    settings.PORTRAIT_MATTE_MODEL = "/srv/matting/modnet.onnx"
    options = dict(pool_config().pipeline_options)
    assert (options["default_backend"], options["model_store"]) == ("diffusion", "/srv/models")
    assert options["portrait_matte_model"] == "/srv/matting/modnet.onnx"
    with pytest.raises(ValueError, match="batch_size"):
        PoolConfig(batch_size=0).check()


def test_an_actor_that_is_gone_for_good_is_replaced_and_its_sets_sent_again(local_ray):
    pool = HeadshotPool(PoolConfig(num_actors=2, num_cpus_per_actor=0.25, pipeline=STANDIN, max_restarts=0,
                                   pipeline_options=(("delay_seconds", 1.0),)))
    try:
        doomed = pool.actors[0]
        stream = pool.generate(sets(4))
        killer = threading.Timer(0.5, lambda: ray.kill(doomed, no_restart=True))
        killer.start()
        results = dict(stream)
        killer.join()
        assert sorted(results) == [0, 1, 2, 3] and all(len(o.headshots) == 2 for o in results.values())
        assert pool.replaced == 1 and doomed not in pool.actors
        assert ray.get([a.ping.remote() for a in pool.actors]) == [True, True]
    finally:
        pool.shutdown()
