"""A rollout's watchdog tick lives in Redis only as a wake-up: a lost tick is started again from PostgreSQL, a
revived chain ends the one it replaces, and a broker that refuses a tick never fails the request that sent it."""
from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.core.management import call_command
from django.utils import timezone
from dramatiq import Message

from rollouts import jobs
from rollouts.jobs import rollout_tick
from rollouts.models import Rollout
from rollouts.services import rollout_schedule_tick
from tests.rollouts.conftest import ready_employee
from tests.urls import tenant_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def ticks_in_redis(broker) -> list[list]:
    """The args of every rollout tick waiting in Redis (ticks are always sent with a delay)."""
    raw = broker.client.hvals(f"{broker.namespace}:rollouts.DQ.msgs")
    return sorted(list(Message.decode(message).args) for message in raw)


def start_rollout(api, org) -> Rollout:
    started = api.post(tenant_url("rollout-list", org), {"scope": "all"}, format="json")
    assert started.status_code == 201, started.content
    return Rollout.objects.get(pk=started.json()["id"])


def refuse(*args, **kwargs):
    raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_tick_the_broker_refused_is_started_again_by_the_queue_watchdog(
        company, standin, redis_broker, settings, monkeypatch):
    org, admin, api, base = company
    settings.ROLLOUT_TICK_SECONDS = 30
    ready_employee(org, 1)
    monkeypatch.setattr(rollout_tick, "send_with_options", refuse)

    rollout = start_rollout(api, org)  # the broker refusing the tick is not the admin's error

    assert ticks_in_redis(redis_broker) == []
    rollout.refresh_from_db()
    assert rollout.tick_due_at > timezone.now()
    monkeypatch.undo()
    call_command("revive_rollout_ticks")
    assert ticks_in_redis(redis_broker) == [], "a tick not yet due is not overdue"

    Rollout.objects.filter(pk=rollout.pk).update(tick_due_at=timezone.now() - timedelta(seconds=91))
    call_command("revive_rollout_ticks")

    rollout.refresh_from_db()
    assert ticks_in_redis(redis_broker) == [[rollout.pk, rollout.tick_token]]
    assert rollout.tick_due_at > timezone.now()


def test_only_the_latest_chain_of_ticks_goes_on(company, standin, redis_broker, settings):
    org, admin, api, base = company
    settings.ROLLOUT_TICK_SECONDS = 30
    ready_employee(org, 1)
    rollout = start_rollout(api, org)
    first = Rollout.objects.get(pk=rollout.pk).tick_token
    rollout_schedule_tick(rollout.pk)  # the watchdog revived a tick that was only late
    revived = Rollout.objects.get(pk=rollout.pk).tick_token
    assert ticks_in_redis(redis_broker) == sorted([[rollout.pk, first], [rollout.pk, revived]])

    rollout_tick(rollout.pk, first)  # the late one arrives after all: it stops
    assert Rollout.objects.get(pk=rollout.pk).tick_token == revived
    assert len(ticks_in_redis(redis_broker)) == 2

    rollout_tick(rollout.pk, revived)  # the live chain goes on under a new token
    latest = Rollout.objects.get(pk=rollout.pk).tick_token
    assert latest not in (first, revived)
    assert [rollout.pk, latest] in ticks_in_redis(redis_broker)


def test_a_tick_rides_out_a_broker_restart(company, standin, redis_broker, settings, monkeypatch):
    org, admin, api, base = company
    settings.ROLLOUT_TICK_SECONDS = 30
    ready_employee(org, 1)
    rollout = start_rollout(api, org)
    token = Rollout.objects.get(pk=rollout.pk).tick_token
    send = rollout_tick.send_with_options
    answers = iter([refuse, refuse, send])
    monkeypatch.setattr(rollout_tick, "send_with_options", lambda *a, **k: next(answers)(*a, **k))
    monkeypatch.setattr(jobs, "TICK_SEND_PAUSES", (0.0, 0.0, 0.0))

    rollout_tick(rollout.pk, token)  # refused twice (Redis restarting), taken the third time

    latest = Rollout.objects.get(pk=rollout.pk).tick_token
    assert [rollout.pk, latest] in ticks_in_redis(redis_broker)
