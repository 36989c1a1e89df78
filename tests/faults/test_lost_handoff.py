"""PostgreSQL is the source of truth for the queue: a job the broker couldn't take is sent again, never lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from teams.generation_requests import request_enqueue, requests_resend_stale
from teams.jobs import generate_headshots
from teams.models import GenerationRequest, RequestStatus
from tests.api.conftest import populate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def queued_request(org) -> GenerationRequest:
    tenant = populate(org)
    request = tenant.request
    GenerationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.QUEUED, queued_at=timezone.now())
    request.refresh_from_db()
    return request


def messages(broker) -> int:
    return broker.client.llen(f"{broker.namespace}:{generate_headshots.queue_name}")


def test_a_broker_outage_at_hand_off_keeps_the_request_queued_and_the_watchdog_sends_it_again(
        org_a, redis_broker, settings, monkeypatch):
    request = queued_request(org_a)

    def broker_down(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(generate_headshots, "send", broker_down)
        request_enqueue(request)  # outside a transaction: on_commit runs now, and must not raise

    assert messages(redis_broker) == 0
    request.refresh_from_db()
    assert request.status == RequestStatus.QUEUED

    settings.GENERATION_REQUEUE_AFTER_SECONDS = 60
    assert requests_resend_stale() == 0  # not stale yet: it may still be waiting in the queue
    GenerationRequest.objects.filter(pk=request.pk).update(queued_at=timezone.now() - timedelta(seconds=61))
    assert requests_resend_stale() == 1
    assert messages(redis_broker) == 1
    assert requests_resend_stale() == 0  # sent once, and its clock starts again


def test_requests_held_by_a_paused_rollout_are_not_sent_by_the_watchdog(org_a, redis_broker, settings):
    from rollouts.models import RolloutRequest

    request = queued_request(org_a)
    RolloutRequest.objects.filter(request=request).update(held=True)
    GenerationRequest.objects.filter(pk=request.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    settings.GENERATION_REQUEUE_AFTER_SECONDS = 60
    assert requests_resend_stale() == 0
    assert messages(redis_broker) == 0
