"""Faults on the real stack: killed Ray actors, a SIGKILLed dramatiq worker, an unreachable Ray cluster."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
from django.db import connection

from ray_cluster.pool import shared_pool
from rollouts.models import RolloutRequest
from teams.generation import generation_run, pool_config
from teams.models import GenerationRequest, Headshot, RequestStatus
from tests.jobs_support import dramatiq_worker, wait_for
from tests.rollouts.conftest import VARIANTS, ready_employee, use_standin
from tests.urls import tenant_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]
REPO = Path(__file__).resolve().parents[2]


def start_rollout(api, org) -> list[int]:
    rollout_id = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json").json()["id"]
    return list(RolloutRequest.objects.filter(rollout_id=rollout_id).values_list("request_id", flat=True))


def test_killing_actors_mid_batch_stores_every_headshot_exactly_once(company, standin, redis_broker, settings):
    org, admin, api, base = company
    use_standin(settings, delay=1.5, actors=2, in_flight=4)
    ids = [ready_employee(org, n).pk for n in range(2)]
    pool = shared_pool(pool_config())
    pids_before = {s["pid"] for s in pool.stats()}
    request_ids = start_rollout(api, org)
    assert len(request_ids) == len(ids)

    errors: list[BaseException] = []

    def run(request_id):
        try:
            generation_run(request_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in request_ids]
    for thread in threads:
        thread.start()
    both_running = lambda: GenerationRequest.objects.filter(pk__in=request_ids, status="running").count() == 2  # noqa: E731
    wait_for(lambda: both_running() or errors, 10, 0.05)
    assert not errors, errors
    time.sleep(0.5)  # both sets are now inside their actors' pipeline
    for actor in pool.actors:
        ray.kill(actor, no_restart=False)  # a crash: Ray restarts the actor and retries its task
    for thread in threads:
        thread.join(60)
    assert not errors, errors

    stats = pool.stats()
    assert {s["pid"] for s in stats}.isdisjoint(pids_before)  # both actors really died and were restarted
    for request in GenerationRequest.objects.filter(pk__in=request_ids):
        assert request.status == RequestStatus.DONE and request.progress_done == VARIANTS
        keys = list(Headshot.objects.filter(request=request).values_list("idempotency_key", flat=True))
        assert sorted(keys) == sorted({f"{request.pk}:standin-{n}" for n in range(VARIANTS)})


def worker_process(env_extra: dict, media_root: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, **env_extra,
           "TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "TEST_MEDIA_ROOT": str(media_root), "RAY_USAGE_STATS_ENABLED": "0"}
    process = subprocess.Popen([sys.executable, "-m", "tests.rollouts.worker_process"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process


def standin_env(settings) -> dict:
    return {"RAY_PIPELINE": settings.RAY_PIPELINE, "RAY_PIPELINE_OPTIONS": settings.RAY_PIPELINE_OPTIONS,
            "RAY_NUM_ACTORS": str(settings.RAY_NUM_ACTORS), "RAY_NUM_CPUS_PER_ACTOR": "0.25",
            "ROLLOUT_MAX_IN_FLIGHT": str(settings.ROLLOUT_MAX_IN_FLIGHT)}


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.kill()
    out, _ = process.communicate(timeout=30)
    return out[-3000:]


def test_a_killed_workers_job_is_redelivered_and_finished_by_another_worker(
        company, standin, redis_broker, settings, monkeypatch):
    org, admin, api, base = company
    use_standin(settings, delay=4.0, actors=1, in_flight=1)
    ready_employee(org, 1)
    # The doomed worker joins this test's Ray cluster as a second driver; its actors die with it.
    gcs = ray.get_runtime_context().gcs_address
    doomed = worker_process({**standin_env(settings), "RAY_ADDRESS": gcs}, settings.MEDIA_ROOT)
    try:
        (request_id,) = start_rollout(api, org)
        wait_for(lambda: GenerationRequest.objects.get(pk=request_id).status == "running", 60, 0.1)
        time.sleep(1.0)  # inside the model now
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(30)
    finally:
        log = stop(doomed)
    assert doomed.returncode == -signal.SIGKILL, log
    assert Headshot.objects.filter(request_id=request_id).count() == 0  # it died before storing anything
    # Its message was never acked: it is still in Redis, owned by a worker that no longer sends heartbeats.
    # Dramatiq's Redis broker hands such messages back once the heartbeat is older than heartbeat_timeout.
    from dramatiq.brokers.redis import MAINTENANCE_SCALE

    monkeypatch.setattr(redis_broker, "heartbeat_timeout", 2000)
    monkeypatch.setattr(redis_broker, "maintenance_chance", MAINTENANCE_SCALE)
    use_standin(settings, delay=0.2, actors=1, in_flight=1)
    time.sleep(2.5)
    with dramatiq_worker(threads=1):
        request = wait_for(lambda: (r := GenerationRequest.objects.get(pk=request_id)).status == "done" and r, 60)
    assert request.attempts == 2  # the killed attempt, then the redelivered one
    keys = sorted(Headshot.objects.filter(request_id=request_id).values_list("idempotency_key", flat=True))
    assert keys == [f"{request_id}:standin-{n}" for n in range(VARIANTS)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_shows_a_retrying_status_with_the_reason(company, standin, redis_broker, settings):
    org, admin, api, base = company
    ready_employee(org, 1)
    address = f"127.0.0.1:{closed_port()}"
    worker = worker_process({**standin_env(settings), "RAY_ADDRESS": address}, settings.MEDIA_ROOT)
    try:
        (request_id,) = start_rollout(api, org)
        url = tenant_url("generation-request-progress", org, request_id)
        progress = wait_for(lambda: (p := api.get(url).json())["state"] == "retrying" and p, 60, 0.2)
    finally:
        log = stop(worker)
    assert progress["status"] == "queued" and progress["attempts"] == 1, log
    assert "RayUnavailableError" in progress["reason"] and address in progress["reason"]
    assert "does not answer" in progress["reason"]
    assert progress["eta_seconds"] is not None
    # The rollout counts it as retrying, not failed: dramatiq backs off and tries again.
    rollout_id = progress["rollout"]
    counts = api.get(tenant_url("rollout-detail", org, rollout_id)).json()["counts"]
    assert counts["retrying"] == 1 and counts["failed"] == 0
    # The backed-off retry waits in Redis's delay queue (a worker may already hold it, unacked, until it is due).
    assert redis_broker.client.hlen(f"{redis_broker.namespace}:generation.DQ.msgs") == 1


def test_a_worker_that_lost_its_ray_cluster_records_the_attempt_and_stops_itself_once(
        company, standin, redis_broker, monkeypatch):
    from ray_cluster.pool import RayConnectionLost
    from teams import jobs

    org, admin, api, base = company
    ready_employee(org, 1)
    (request_id,) = start_rollout(api, org)

    def lost(request_id):
        raise RayConnectionLost("Ray returned nothing for 46 s; the cluster may have lost its head node.")

    monkeypatch.setattr(jobs, "generation_run", lost)
    monkeypatch.setattr(jobs, "ray_connection_lost", lambda: True)
    monkeypatch.setattr(jobs, "_restart_requested", False)
    sent = []
    monkeypatch.setattr(jobs.os, "kill", lambda pid, signum: sent.append((pid, signum)))

    for _ in range(2):  # two jobs on two threads meet the same lost connection
        with pytest.raises(RayConnectionLost):
            jobs.generate_headshots(request_id)

    assert sent == [(os.getpid(), signal.SIGTERM)], "one graceful stop, not a second (which kills at once)"
    request = GenerationRequest.objects.get(pk=request_id)
    assert request.status == RequestStatus.QUEUED and "RayConnectionLost" in request.error
