"""A set streamed headshot by headshot through real Ray actors: the pool hands each one over as soon as it is made,
generation_run stores and counts it at once (the bar moves, the ETA is measured), a crash mid-set costs only the
headshot in the making, and the finished request counts what the person actually gets.

The stand-in pipeline (standin.GatedPipeline) makes a headshot only when the test hands its Gate a permit, so every
intermediate state is observed on purpose, not raced with sleeps.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
import ray
from django.test import Client
from django.utils import timezone

from inference.request import GenerationInput, GenerationPlan, GenerationRanking, HeadshotOutput, SelfieInput
from ray_cluster.pool import HeadshotPool, PoolConfig, shared_pool
from rollouts.api import progress_data
from rollouts.selectors import running_eta
from teams.generation import generation_attempt_failed, generation_run, pool_config
from teams.models import GenerationRequest, Headshot, RequestStatus
from tenancy.models import Role
from tests.factories import client_for, make_brand_kit, make_user
from tests.jobs_support import wait_for
from tests.ray_cluster.standin import Gate
from tests.rollouts.conftest import local_ray, ready_employee  # noqa: F401 (a fixture)
from tests.urls import tenant_url, url_of

GATED = "tests.ray_cluster.standin:GatedPipeline"
NAMES = [f"gated-{n}" for n in range(4)]


@pytest.fixture
def gate(local_ray):  # noqa: F811
    name = f"gate-{uuid.uuid4().hex[:8]}"
    handle = Gate.options(name=name).remote()
    ray.get(handle.made_so_far.remote())
    yield name, handle
    ray.kill(handle)


def one_set() -> GenerationInput:
    return GenerationInput(selfies=(SelfieInput(name="7", data=b"x"),))


def made(handle) -> list[tuple[str, int]]:
    return ray.get(handle.made_so_far.remote())


# -- the pool ---------------------------------------------------------------------------------------------------


def gated_pool(name: str, **config) -> HeadshotPool:
    return HeadshotPool(PoolConfig(num_actors=1, num_cpus_per_actor=0.25, pipeline=GATED, batch_timeout_s=60, **config),
                        pipeline_kwargs={"gate": name})


def test_the_pool_hands_over_each_headshot_while_the_set_is_still_being_made(gate):
    name, handle = gate
    pool = gated_pool(name)
    try:
        events = pool.stream(one_set())
        plan = next(events)
        assert isinstance(plan, GenerationPlan) and plan.planned == tuple(NAMES)
        for n in range(4):
            ray.get(handle.release.remote(1))
            headshot = next(events)
            assert isinstance(headshot, HeadshotOutput) and headshot.variant == NAMES[n]
            # Only n + 1 were made (the next has no permit yet): this one came before the set was finished.
            assert [variant for variant, _ in made(handle)] == NAMES[:n + 1]
            assert pool.in_flight == 1
        ranking = next(events)
        assert isinstance(ranking, GenerationRanking)
        assert [r.variant for r in sorted(ranking.ranks, key=lambda r: r.rank)] == NAMES[::-1]
        assert list(events) == [] and pool.in_flight == 0
    finally:
        pool.shutdown()


@pytest.mark.parametrize("restarts", [3, 0], ids=["restarted-by-ray", "gone-for-good"])
def test_an_actor_killed_mid_set_costs_only_the_headshot_in_the_making(gate, restarts):
    name, handle = gate
    pool = gated_pool(name, max_restarts=restarts)
    try:
        events = pool.stream(one_set())
        next(events)
        ray.get(handle.release.remote(2))
        first = [next(events), next(events)]
        ray.get(handle.wait_until_waiting.remote())  # blocked before the third
        doomed = pool.actors[0]
        ray.kill(doomed, no_restart=restarts == 0)
        # Spare permits: the dead process's pending acquire may still take one.
        ray.get(handle.release.remote(4))
        rest = list(events)
        headshots = first + [e for e in rest if isinstance(e, HeadshotOutput)]
        assert [h.variant for h in headshots] == NAMES  # none lost, none twice
        log = made(handle)
        assert [variant for variant, _ in log] == NAMES  # the first two were not made again
        assert log[0][1] == log[1][1] != log[2][1] == log[3][1]  # the rest by a new process
        assert {r.variant for r in rest[-1].ranks} == set(NAMES)  # ranked together
        assert (pool.replaced == 1) == (restarts == 0)
        assert pool.in_flight == 0
    finally:
        pool.shutdown()


# -- generation_run ---------------------------------------------------------------------------------------------


@pytest.fixture
def gated_request(org_a, gate, settings, redis_broker):
    """A queued request of 4 variants for a person with one selfie, served by the gated stand-in."""
    from teams.generation_requests import generation_request_start

    name, handle = gate
    settings.RAY_PIPELINE = GATED
    settings.RAY_PIPELINE_OPTIONS = json.dumps({"gate": name, "failing": [1]})
    settings.RAY_NUM_ACTORS, settings.RAY_NUM_CPUS_PER_ACTOR = 1, 0.25
    org_a.selfies_required = 1
    org_a.save()
    make_brand_kit(org_a, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256], variants_per_person=4)
    employee = ready_employee(org_a, 1)
    employee.user = make_user(org_a, Role.EMPLOYEE, email=employee.email)
    employee.save(update_fields=["user"])
    request = generation_request_start(employee=employee, created_by=None)
    return request, handle


class Job(threading.Thread):
    """generation_run on a thread, as a dramatiq worker runs it; what it raised is kept."""

    def __init__(self, request_id: int):
        super().__init__(daemon=True)
        self.request_id, self.error = request_id, None

    def run(self):
        try:
            generation_run(self.request_id)
        except BaseException as exc:  # noqa: BLE001 (asserted by the test)
            self.error = exc
        finally:
            from django.db import connection

            connection.close()  # this thread's own connection, or the test database can't be dropped


def progress_of(request_id: int) -> dict:
    return progress_data(GenerationRequest.objects.get(pk=request_id))


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_progress_moves_as_each_headshot_is_stored_and_the_eta_is_measured(gated_request):
    request, handle = gated_request
    job = Job(request.pk)
    job.start()
    seen = []
    for n in range(4):
        ray.get(handle.wait_until_waiting.remote())
        if n:
            # Between headshots: the bar shows what is stored, the ETA comes from this request's own pace.
            progress = progress_of(request.pk)
            assert (progress["state"], progress["progress_done"], progress["progress_total"]) == ("running", n, 4)
            assert progress["eta_basis"] == "measured" and progress["eta_seconds"] >= 1
            seen.append(progress["progress_done"])
        ray.get(handle.release.remote(1))
        wait_for(lambda n=n: job.error or GenerationRequest.objects.get(pk=request.pk).progress_done == n + 1, 30, 0.05)
        assert job.error is None, job.error
    job.join(30)
    assert job.error is None, job.error
    assert seen == [1, 2, 3]

    done = progress_of(request.pk)
    assert (done["state"], done["progress_done"], done["progress_total"]) == ("done", 4, 4)
    # The gallery shows the 3 that passed QC; the message counts those and says why the fourth isn't there.
    assert (done["delivered"], done["failed_qc"], done["not_made"]) == (3, 1, 0)
    assert done["summary"].startswith("3 headshots are ready; 1 didn't pass our quality checks "
                                      "(the face didn't match your selfies closely enough).")
    # Ranks come at the end and cover the whole set.
    assert list(Headshot.objects.filter(request=request).order_by("rank").values_list("variant", flat=True)) == \
        NAMES[::-1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_the_portal_and_the_api_say_how_many_are_ready_and_why_not_all(gated_request):
    request, handle = gated_request
    ray.get(handle.release.remote(4))
    generation_run(request.pk)
    user = request.employee.user
    body = client_for(user).get(tenant_url("my-generation-request-progress", request.organization, request.pk)).json()
    assert body["delivered"] == 3 and body["not_delivered_reasons"] == [
        "the face didn't match your selfies closely enough"]
    client = Client()
    client.force_login(user)
    page = client.get(url_of("portal:progress", request.organization, request.pk)).content.decode()
    assert "Done: 3 headshots are ready; 1 didn&#x27;t pass our quality checks" in page
    assert "Done: 4 headshots are ready" not in page
    # The count is what the person's gallery holds.
    assert len(client_for(user).get(tenant_url("my-headshot-list", request.organization)).json()["results"]) == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_an_attempt_that_dies_mid_set_keeps_what_it_stored_and_the_retry_makes_only_the_rest(gated_request):
    request, handle = gated_request
    job = Job(request.pk)
    job.start()
    ray.get(handle.release.remote(2))
    wait_for(lambda: GenerationRequest.objects.get(pk=request.pk).progress_done == 2, 30, 0.05)
    ray.get(handle.release.remote(0, fail=True))
    job.join(30)
    assert job.error is not None and "died mid-set" in str(job.error)
    generation_attempt_failed(request.pk, str(job.error), final=False)  # what the job's retry hook records
    assert set(Headshot.objects.filter(request=request).values_list("variant", flat=True)) == set(NAMES[:2])

    ray.get(handle.release.remote(2))
    generation_run(request.pk)  # the retry
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.progress_done == 4 and request.attempts == 2
    keys = list(Headshot.objects.filter(request=request).values_list("idempotency_key", flat=True))
    assert sorted(keys) == [f"{request.pk}:{name}" for name in NAMES]  # 0 lost, 0 twice
    assert [variant for variant, _ in made(handle)] == NAMES  # the stored two were not made again
    ranks = dict(Headshot.objects.filter(request=request).values_list("variant", "rank"))
    assert ranks == {name: 4 - n for n, name in enumerate(NAMES)}  # the first attempt's included


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_an_actor_killed_mid_set_under_generation_run_loses_and_duplicates_nothing(gated_request):
    request, handle = gated_request
    pool = shared_pool(pool_config())
    job = Job(request.pk)
    job.start()
    ray.get(handle.release.remote(2))
    wait_for(lambda: GenerationRequest.objects.get(pk=request.pk).progress_done == 2, 30, 0.05)
    ray.get(handle.wait_until_waiting.remote())
    ray.kill(pool.actors[0], no_restart=False)  # a crash: Ray restarts it, the pool resumes the set there
    ray.get(handle.release.remote(4))
    job.join(60)
    assert job.error is None, job.error
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.progress_done == 4
    keys = list(Headshot.objects.filter(request=request).values_list("idempotency_key", flat=True))
    assert sorted(keys) == [f"{request.pk}:{name}" for name in NAMES]
    assert [variant for variant, _ in made(handle)] == NAMES


@pytest.mark.django_db
def test_the_eta_of_a_running_request_comes_from_its_own_pace(org_a):
    from tests.factories import make_employee

    kit = make_brand_kit(org_a)
    employee = make_employee(org_a)
    started = timezone.now() - timedelta(seconds=100)
    request = GenerationRequest.objects.create(organization=org_a, employee=employee, progress_total=24,
                                               progress_done=4, brand_kit_version=kit.current_version,
                                               status=RequestStatus.RUNNING, started_at=started)
    assert running_eta(request) is None  # nothing measured yet: the caller falls back to recent requests
    for n in range(4):
        Headshot.objects.create(organization=org_a, request=request, employee=employee,
                                brand_kit_version=kit.current_version, variant=f"v{n}", idempotency_key=f"k{n}",
                                file="x.png", width=1, height=1)
    for n, headshot in enumerate(Headshot.objects.filter(request=request).order_by("id")):
        Headshot.objects.filter(pk=headshot.pk).update(created_at=started + timedelta(seconds=20 * (n + 1)))
    # 4 in 80 s: 20 s each; 20 left, the next one 20 s under way already.
    eta = running_eta(request)
    assert eta.basis == "measured" and eta.seconds == pytest.approx(20 * 20 - 20, abs=1)
    # Headshots an earlier attempt stored are done, but say nothing of this attempt's pace.
    request.started_at = timezone.now()
    assert running_eta(request) is None
