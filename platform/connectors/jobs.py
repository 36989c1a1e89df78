"""dramatiq actors of the connectors app. Thin: each calls one service function; retries are the service's own
(Retry-After and backoff are decided per destination answer, so dramatiq's blind retries are off)."""
from __future__ import annotations

import dramatiq

from tenancy.models import Organization

from .models import DeletionStatus
from .services import photo_delete_everywhere, photo_sync_run


@dramatiq.actor(queue_name="connectors", max_retries=0, time_limit=5 * 60 * 1000)
def push_photo(photo_sync_id: int, attempt: int) -> None:
    photo_sync_run(photo_sync_id, attempt)


@dramatiq.actor(queue_name="connectors", max_retries=5, min_backoff=30_000, max_backoff=3_600_000,
                time_limit=5 * 60 * 1000)
def delete_photos_everywhere(organization_id: int, employee_snapshot: dict) -> None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return  # the whole organization is gone, connections included
    rows = photo_delete_everywhere(organization, employee_snapshot)
    if any(row.status == DeletionStatus.FAILED for row in rows):
        # dramatiq retries with backoff; rows already done are skipped on the next run.
        raise RuntimeError("some photo deletions failed: " + "; ".join(r.last_error for r in rows if r.last_error))
