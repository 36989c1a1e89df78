"""config.job_queue: services publish a job by its actor's name, after commit, with the actor's own queue."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import dramatiq
import pytest
from django.db import transaction
from dramatiq.errors import ActorNotFound

from config.job_queue import enqueue, enqueue_on_commit
from tests.test_architecture import ROOT

# The actors that services publish by name, and the queue each was declared on.
PUBLISHED = {"push_photo": "connectors", "delete_photos_everywhere": "connectors", "export_job_process": "exports",
             "rollout_tick": "rollouts", "deliver_webhook": "webhooks"}


def queued(broker, queue: str) -> list[dramatiq.Message]:
    return [dramatiq.Message.decode(raw) for raw in broker.client.hvals(f"{broker.namespace}:{queue}.msgs")]


def test_django_setup_alone_declares_every_published_actor():
    """Web processes, management commands and the demo import no jobs module themselves: the apps' ready() must."""
    script = ("import django, dramatiq; django.setup(); broker = dramatiq.get_broker(); "
              f"print(sorted((n, broker.get_actor(n).queue_name) for n in {sorted(PUBLISHED)!r}))")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
           "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == str(sorted(PUBLISHED.items()))


@pytest.mark.django_db
def test_a_job_is_published_only_once_its_transaction_commits(redis_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            enqueue_on_commit("deliver_webhook", 41)
            assert queued(redis_broker, "webhooks") == []
    assert len(callbacks) == 1
    [message] = queued(redis_broker, "webhooks")
    assert (message.queue_name, message.actor_name, tuple(message.args)) == ("webhooks", "deliver_webhook", (41,))


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_when_the_transaction_rolls_back(redis_broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit("deliver_webhook", 42)
        raise RuntimeError("roll back")
    assert queued(redis_broker, "webhooks") == []


def test_a_delay_puts_the_message_on_the_actors_delay_queue(redis_broker):
    enqueue("rollout_tick", 7, "token", delay_ms=30_000)
    assert queued(redis_broker, "rollouts") == []
    [message] = queued(redis_broker, "rollouts.DQ")
    assert (message.actor_name, tuple(message.args)) == ("rollout_tick", (7, "token"))
    assert abs(message.options["eta"] - (time.time() * 1000 + 30_000)) < 3000


def test_an_unknown_actor_name_fails_loudly(redis_broker):
    with pytest.raises(ActorNotFound):
        enqueue("no_such_actor", 1)
