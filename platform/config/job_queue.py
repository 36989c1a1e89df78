"""Publish a dramatiq job by its actor's name, so that a service never imports the jobs module that imports it back.

Each app's jobs.py declares its actors and calls its services; the services queue work through these two functions.
The actor is looked up on the configured broker when the message is sent, with the options it was declared with
(queue, retries, time limit). An app's AppConfig.ready() imports its jobs module, so its actors are declared in
every process that runs Django (web, worker, tests, management commands); `rundramatiq` imports them too.

    enqueue_on_commit("push_photo", photo_sync.pk, attempt)           # after the current transaction commits
    enqueue("rollout_tick", rollout.pk, token, delay_ms=60_000)       # now (may raise if the broker is down)
"""
from __future__ import annotations

import dramatiq
from django.db import transaction


def enqueue(actor_name: str, *args, delay_ms: int | None = None) -> dramatiq.Message:
    """Send one message to the actor declared as `actor_name` now; `delay_ms` holds it back that long.

    Raises dramatiq.errors.ActorNotFound when no actor of that name is declared (its app's jobs module was never
    imported), and whatever the broker raises when it refuses the message."""
    actor = dramatiq.get_broker().get_actor(actor_name)
    if delay_ms is not None:
        return actor.send_with_options(args=args, delay=delay_ms)
    return actor.send(*args)


def enqueue_on_commit(actor_name: str, *args, delay_ms: int | None = None) -> None:
    """enqueue() once the current transaction commits (at once outside one); nothing is sent if it rolls back."""
    transaction.on_commit(lambda: enqueue(actor_name, *args, delay_ms=delay_ms))
