"""dramatiq actors of the teams app. Thin: each calls one service function."""
from __future__ import annotations

import logging
import os
import signal

import dramatiq
from django.conf import settings

from ray_cluster.pool import ray_connection_lost

from .generation import generation_attempt_failed, generation_run

log = logging.getLogger(__name__)


@dramatiq.actor(queue_name="generation", max_retries=settings.GENERATION_MAX_ATTEMPTS - 1,
                min_backoff=2_000, max_backoff=120_000, time_limit=60 * 60 * 1000)
def generate_headshots(request_id: int) -> None:
    message = dramatiq.middleware.CurrentMessage.get_current_message()
    retries = message.options.get("retries", 0) if message else 0
    try:
        generation_run(request_id)
    except Exception as exc:
        final = retries >= settings.GENERATION_MAX_ATTEMPTS - 1
        log.exception("generation of request %s failed (attempt %s)", request_id, retries + 1)
        generation_attempt_failed(request_id, f"{type(exc).__name__}: {exc}", final)
        if ray_connection_lost():
            restart_this_worker()
        if not final:
            raise


_restart_requested = False


def restart_this_worker() -> None:
    """Stop this worker process the way Kubernetes would, once: on SIGTERM dramatiq finishes the jobs it is running
    and exits, its container restarts, and the fresh process joins the (restarted) Ray head. Jobs failed meanwhile
    are retried by dramatiq, so nothing is lost."""
    global _restart_requested
    if _restart_requested:
        return
    _restart_requested = True
    log.critical("this worker lost its Ray cluster; stopping so that a fresh process joins it again")
    os.kill(os.getpid(), signal.SIGTERM)
