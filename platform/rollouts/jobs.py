"""dramatiq actors of the rollouts app. Thin: each calls one service function."""
from __future__ import annotations

import dramatiq

from teams.generation_requests import requests_resend_stale

from .models import Rollout, RolloutStatus
from .services import TICK_SEND_PAUSES, rollout_schedule_tick, rollouts_feed, rollouts_revive_ticks


@dramatiq.actor(queue_name="rollouts", max_retries=3)
def rollout_tick(rollout_id: int, token: str | None = None) -> None:
    """A running rollout's watchdog: send again what lost its message, refill the window (in case a finishing job's
    hand-off was lost), restart other rollouts' lost ticks, then come back later. A tick whose chain was superseded
    by a revived one stops here (messages from before tokens, token None, still run)."""
    current = Rollout.objects.filter(pk=rollout_id).values_list("tick_token", flat=True).first()
    if current is None or (token is not None and token != current):
        return
    requests_resend_stale()
    rollouts_feed()
    status = Rollout.objects.filter(pk=rollout_id).values_list("status", flat=True).first()
    if status in (RolloutStatus.RUNNING, RolloutStatus.PAUSED):
        rollout_schedule_tick(rollout_id, pauses=TICK_SEND_PAUSES)
    rollouts_revive_ticks()
