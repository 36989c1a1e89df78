"""Rollouts through the API, Redis, dramatiq and Ray: a bounded window, counts and ETA, pause, resume and cancel."""
from __future__ import annotations

import pytest

from rollouts.models import Rollout, RolloutRequest
from rollouts.services import rollouts_feed
from teams.employees import team_get_or_create
from teams.models import GenerationRequest, Headshot, RequestStatus
from tests.jobs_support import dramatiq_worker, wait_for
from tests.rollouts.conftest import VARIANTS, ready_employee, use_standin
from tests.urls import tenant_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def rollout_json(api, org, rollout_id):
    response = api.get(tenant_url("rollout-detail", org, rollout_id))
    assert response.status_code == 200, response.content
    return response.json()


def assert_nothing_moves(broker):
    """Every message already sent has been handled, and the feeder (what a finishing job or the watchdog tick calls)
    sends nothing more: the states read afterwards are final, without sleeping and hoping."""
    broker.join("generation", timeout=30_000)
    assert rollouts_feed() == 0
    broker.join("generation", timeout=30_000)


def test_a_team_rollout_makes_one_request_per_ready_employee_and_queues_only_a_window(
        company, standin, redis_broker, settings):
    org, admin, api, base = company
    settings.ROLLOUT_MAX_IN_FLIGHT = 2
    design = team_get_or_create(organization=org, name="Design")
    for n in range(5):
        ready_employee(org, n, team=design)
    ready_employee(org, 9)  # in another team: out of scope
    from tests.factories import grant_consent, make_employee

    no_selfies = make_employee(org, name="Not ready", email="late@example.com")
    grant_consent(no_selfies)
    no_selfies.team = design
    no_selfies.save()

    started = api.post(tenant_url("rollout-list", org), {"scope": "team", "team": design.pk}, format="json")
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["status"] == "running" and body["priority"] == "normal"
    assert body["skipped"] == [{"employee_id": no_selfies.pk, "reason": "not_enough_selfies"}]

    detail = rollout_json(api, org, body["id"])
    counts = detail["counts"]
    # Back-pressure: 5 requests, but only the window of 2 reached Redis; the rest wait in the database.
    assert counts["total"] == 5 and counts["queued"] == 2 and counts["pending"] == 3
    assert redis_broker.client.llen(f"{redis_broker.namespace}:generation") == 2
    assert counts["headshots_planned"] == 5 * VARIANTS and counts["headshots_stored"] == 0
    assert detail["eta_seconds"] > 0 and detail["eta_basis"] == "default"


def test_a_whole_company_rollout_runs_to_done_with_every_headshot_stored_once(company, standin, redis_broker, settings):
    org, admin, api, base = company
    use_standin(settings, delay=0.2, in_flight=3)
    for n in range(6):
        ready_employee(org, n)
    rollout_id = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json").json()["id"]

    seen_in_flight = []
    with dramatiq_worker(threads=2):
        def finished():
            detail = rollout_json(api, org, rollout_id)
            c = detail["counts"]
            seen_in_flight.append(c["queued"] + c["running"])
            return detail if detail["status"] == "done" else None
        detail = wait_for(finished, 90, interval=0.1)
    counts = detail["counts"]
    assert counts["done"] == 6 and counts["failed"] == counts["cancelled"] == 0
    assert counts["headshots_stored"] == counts["headshots_planned"] == 6 * VARIANTS
    assert max(seen_in_flight) <= 3  # never more than the window
    assert detail["eta_seconds"] == 0
    keys = list(Headshot.objects.filter(organization=org).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 6 * VARIANTS

    # Each request's own progress: done, nothing left, and its rollout named.
    request = GenerationRequest.objects.filter(organization=org).first()
    progress = api.get(tenant_url("generation-request-progress", org, request.pk)).json()
    assert progress["state"] == "done" and progress["eta_seconds"] == 0 and progress["rollout"] == rollout_id
    assert progress["progress_done"] == progress["progress_total"] == VARIANTS


def test_running_every_job_of_a_rollout_twice_stores_no_duplicates(company, standin, redis_broker, settings):
    from teams.generation import generation_run
    from teams.jobs import generate_headshots

    org, admin, api, base = company
    for n in range(3):
        ready_employee(org, n)
    rollout_id = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json").json()["id"]
    with dramatiq_worker(threads=2):
        wait_for(lambda: Rollout.objects.get(pk=rollout_id).status == "done", 60)
        first = sorted(Headshot.objects.filter(organization=org).values_list("idempotency_key", flat=True))
        # Redelivered messages (a worker killed after storing, before acking): every job runs again.
        ids = list(RolloutRequest.objects.filter(rollout_id=rollout_id).values_list("request_id", flat=True))
        GenerationRequest.objects.filter(pk__in=ids).update(status=RequestStatus.RUNNING)
        for request_id in ids:
            generate_headshots.send(request_id)
        wait_for(lambda: not GenerationRequest.objects.filter(pk__in=ids).exclude(status="done").exists(), 60)
        redis_broker.join("generation", timeout=30_000)
    for request_id in ids:
        generation_run(request_id)  # and once more, in-line
    assert sorted(Headshot.objects.filter(organization=org).values_list("idempotency_key", flat=True)) == first
    assert len(first) == 3 * VARIANTS
    assert rollout_json(api, org, rollout_id)["counts"]["headshots_stored"] == 3 * VARIANTS


def test_cancelling_a_rollout_stops_it_and_keeps_finished_work(company, standin, redis_broker, settings):
    org, admin, api, base = company
    use_standin(settings, delay=0.4, actors=1, in_flight=1)
    for n in range(6):
        ready_employee(org, n)
    rollout_id = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json").json()["id"]
    with dramatiq_worker(threads=1):
        wait_for(lambda: rollout_json(api, org, rollout_id)["counts"]["done"] >= 2, 60, interval=0.05)
        cancelled = api.post(tenant_url("rollout-cancel", org, rollout_id), {}, format="json")
        assert cancelled.status_code == 200, cancelled.content
        assert cancelled.json()["status"] == "cancelled"
        # Whatever was running finishes; nothing new starts.
        wait_for(lambda: rollout_json(api, org, rollout_id)["counts"]["running"] == 0, 30)
        settled = rollout_json(api, org, rollout_id)["counts"]
        assert_nothing_moves(redis_broker)
        later = rollout_json(api, org, rollout_id)["counts"]
    assert later == settled
    assert later["done"] >= 2 and later["cancelled"] >= 1
    assert later["done"] + later["cancelled"] == 6
    assert later["pending"] == later["queued"] == later["running"] == 0
    # Finished work is kept, whole: every done request has all its headshots, each once.
    assert later["headshots_stored"] == later["done"] * VARIANTS
    keys = list(Headshot.objects.filter(organization=org).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))
    cancelled_request = RolloutRequest.objects.filter(rollout_id=rollout_id, cancelled=True).first().request
    progress = api.get(tenant_url("generation-request-progress", org, cancelled_request.pk)).json()
    assert progress["state"] == "cancelled" and f"rollout #{rollout_id}" in progress["reason"]
    assert api.post(tenant_url("rollout-resume", org, rollout_id), {}, format="json").status_code == 409


def test_a_paused_rollout_holds_its_queue_and_resumes_to_the_end(company, standin, redis_broker, settings):
    org, admin, api, base = company
    use_standin(settings, delay=0.3, actors=1, in_flight=2)
    for n in range(5):
        ready_employee(org, n)
    rollout_id = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json").json()["id"]
    with dramatiq_worker(threads=1):
        wait_for(lambda: rollout_json(api, org, rollout_id)["counts"]["done"] >= 1, 60, interval=0.05)
    # The worker is stopped after its running job: every finished request refilled the window, so requests wait in
    # the queue (a known state to pause in, rather than a race with the worker).
    before = rollout_json(api, org, rollout_id)["counts"]
    assert before["running"] == 0 and before["queued"] >= 1 and before["pending"] >= 1, before
    assert api.post(tenant_url("rollout-pause", org, rollout_id), {}, format="json").json()["status"] == "paused"
    with dramatiq_worker(threads=1):
        # The queued requests reach the worker and are held, not run.
        wait_for(lambda: RolloutRequest.objects.filter(rollout_id=rollout_id, held=True).count() == before["queued"],
                 30, interval=0.05)
        paused = rollout_json(api, org, rollout_id)
        assert_nothing_moves(redis_broker)
        assert rollout_json(api, org, rollout_id)["counts"] == paused["counts"]  # nothing moves while paused
        assert paused["counts"]["done"] == before["done"] and paused["counts"]["running"] == 0
        assert paused["eta_seconds"] is None and paused["eta_basis"] == "paused"
        held = RolloutRequest.objects.filter(rollout_id=rollout_id, held=True).first()
        progress = api.get(tenant_url("generation-request-progress", org, held.request_id)).json()
        assert progress["state"] == "held" and "paused" in progress["reason"]

        assert api.post(tenant_url("rollout-resume", org, rollout_id), {}, format="json").json()["status"] == "running"
        done = wait_for(lambda: (d := rollout_json(api, org, rollout_id))["status"] == "done" and d, 60)
    assert done["counts"]["done"] == 5 and done["counts"]["headshots_stored"] == 5 * VARIANTS


def test_new_hires_rollout_is_fed_before_an_earlier_normal_rollout(company, standin, redis_broker, settings):
    org, admin, api, base = company
    settings.ROLLOUT_MAX_IN_FLIGHT = 2
    everyone = team_get_or_create(organization=org, name="Everyone else")
    new_hires = team_get_or_create(organization=org, name="New hires")
    for n in range(4):
        ready_employee(org, n, team=everyone)
    for n in range(10, 13):
        ready_employee(org, n, team=new_hires)
    rollouts = tenant_url("rollout-list", org)
    normal = api.post(rollouts, {"scope": "team", "team": everyone.pk}, format="json").json()["id"]
    urgent = api.post(rollouts, {"scope": "team", "team": new_hires.pk, "priority": "high"},
                      format="json").json()["id"]
    # The normal rollout took the whole window; the next free slots go to the new hires.
    GenerationRequest.objects.filter(rollout_item__rollout_id=normal, status="queued").update(
        status="done", progress_done=VARIANTS)
    from rollouts.services import rollouts_feed

    assert rollouts_feed() == 2
    assert rollout_json(api, org, urgent)["counts"]["queued"] == 2
    assert rollout_json(api, org, normal)["counts"]["queued"] == 0


def test_starting_a_rollout_with_nobody_ready_is_refused(company, standin):
    org, admin, api, base = company
    from tests.factories import make_employee

    make_employee(org, name="No selfies")
    response = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "nobody_ready"
    assert not Rollout.objects.exists()
