"""dramatiq actors of the webhooks app. Thin: each calls one service function; retries are scheduled by the
service (in PostgreSQL), not by dramatiq's own retry middleware."""
from __future__ import annotations

import dramatiq

from .services import deliveries_resend_due, delivery_attempt


@dramatiq.actor(queue_name="webhooks", max_retries=3, min_backoff=5_000, time_limit=5 * 60 * 1000)
def deliver_webhook(delivery_id: int) -> None:
    delivery_attempt(delivery_id=delivery_id)


@dramatiq.actor(queue_name="webhooks", max_retries=0)
def resend_due_webhook_deliveries() -> None:
    """Run every few minutes (cron, a Kubernetes CronJob, or `manage.py webhooks_resend_due`)."""
    deliveries_resend_due()
