"""dramatiq actors of the rollouts app. Thin: each calls one service function."""
from __future__ import annotations

import dramatiq
from django.conf import settings

from teams.services import requests_resend_stale

from .models import Rollout, RolloutStatus
from .services import rollouts_feed


@dramatiq.actor(queue_name="rollouts", max_retries=3)
def rollout_tick(rollout_id: int) -> None:
    """A running rollout's watchdog: send again what lost its message, refill the window (in case a finishing job's
    hand-off was lost), then again later."""
    requests_resend_stale()
    rollouts_feed()
    status = Rollout.objects.filter(pk=rollout_id).values_list("status", flat=True).first()
    if status in (RolloutStatus.RUNNING, RolloutStatus.PAUSED):
        rollout_tick.send_with_options(args=(rollout_id,), delay=settings.ROLLOUT_TICK_SECONDS * 1000)
