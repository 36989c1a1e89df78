"""dramatiq actors of the teams app. Thin: each calls one service function."""
from __future__ import annotations

import logging

import dramatiq
from django.conf import settings

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
        if not final:
            raise
