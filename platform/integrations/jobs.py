"""dramatiq actors of the integrations app. Thin: each calls one service function."""
from __future__ import annotations

import dramatiq
from django.conf import settings

from .export_jobs import export_job_run


# No automatic retries: a failed export says why and an admin retries it; a worker that dies mid-way is covered by
# the broker handing the unacknowledged message to another worker (the job then starts over).
@dramatiq.actor(queue_name="exports", max_retries=0, time_limit=settings.EXPORT_TIME_LIMIT_SECONDS * 1000)
def export_job_process(job_id: int) -> None:
    export_job_run(job_id=job_id)
