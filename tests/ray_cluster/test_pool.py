"""The Ray pool: actors load their pipeline once, spread sets across actors, and take resources from the config."""
from __future__ import annotations

import pytest
import ray

from inference.request import GenerationInput, SelfieInput
from ray_cluster.pool import HeadshotPool, PoolConfig


@pytest.fixture(scope="module")
def echo_pool(ray_pool):
    # ray_pool has started the session's local Ray; this pool adds two stand-in actors to it.
    pool = HeadshotPool(PoolConfig(num_actors=2, num_cpus_per_actor=0.25,
                                   pipeline="tests.ray_cluster.standin:EchoPipeline"),
                        pipeline_kwargs={"tag": "t"})
    yield pool
    pool.shutdown()


def sets(n: int) -> list[GenerationInput]:
    return [GenerationInput(selfies=(SelfieInput(name=f"set{i}", data=b"x"),)) for i in range(n)]


def test_every_set_comes_back_once_with_its_index(echo_pool):
    results = dict(echo_pool.generate(sets(12)))
    assert sorted(results) == list(range(12))
    assert all(results[i].selfies[0].name == f"set{i}" for i in range(12))


def test_sets_are_spread_over_actors_that_each_loaded_the_pipeline_once(echo_pool):
    tags = {out.selfies[0].reasons[0] for _, out in echo_pool.generate(sets(8))}
    pids = {tag.split(":")[1] for tag in tags}
    assert len(pids) == 2  # both actors served
    assert {tag.split(":")[2] for tag in tags} == {"1"}  # and neither built its pipeline twice


def test_actor_resources_come_from_the_config(echo_pool):
    assigned = ray.get([actor.assigned_resources.remote() for actor in echo_pool.actors])
    assert assigned == [{"CPU": 0.25}, {"CPU": 0.25}]


def test_an_unreachable_cluster_is_a_clear_error():
    from ray_cluster.pool import RayUnavailableError, ensure_ray

    if ray.is_initialized():
        # ensure_ray is a no-op once connected; check the error path on a fresh config in a subprocess instead.
        import subprocess
        import sys

        code = ("from ray_cluster.pool import ensure_ray, PoolConfig, RayUnavailableError\n"
                "try:\n    ensure_ray(PoolConfig(address='127.0.0.1:1'))\n"
                "except RayUnavailableError as e:\n    print('CLEAR', e)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert "CLEAR" in out.stdout and "127.0.0.1:1" in out.stdout, out.stderr[-2000:]
    else:
        with pytest.raises(RayUnavailableError):
            ensure_ray(PoolConfig(address="127.0.0.1:1"))


def test_a_process_that_lost_its_remote_cluster_refuses_to_rejoin_it(monkeypatch):
    """Ray can't rejoin a restarted head from the same driver process, so the pool says so instead of trying."""
    from ray_cluster import pool as pool_module

    config = PoolConfig(address="10.0.0.9:6379")
    lost = object.__new__(HeadshotPool)  # a pool whose batches got no answer: _wait_one marked it broken
    lost.config, lost.broken = config, True
    monkeypatch.setattr(pool_module, "_shared_pool", lost)
    monkeypatch.setattr(pool_module, "_remote_lost", False)
    assert pool_module.ray_connection_lost()

    with pytest.raises(pool_module.RayConnectionLost, match="only a restarted process"):
        pool_module.shared_pool(config)
    assert pool_module._shared_pool is lost, "nothing was torn down or rebuilt in this process"


def test_a_broken_local_ray_is_not_a_lost_connection(monkeypatch):
    from ray_cluster import pool as pool_module

    broken = object.__new__(HeadshotPool)
    broken.config, broken.broken = PoolConfig(), True
    monkeypatch.setattr(pool_module, "_shared_pool", broken)
    monkeypatch.setattr(pool_module, "_remote_lost", False)
    assert not pool_module.ray_connection_lost()  # this process owns its local Ray and starts it again itself
