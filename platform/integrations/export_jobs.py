"""Export jobs: start one (a ZIP for a destination preset, built by a dramatiq job into storage), run it, retry it."""
from __future__ import annotations

import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from config.job_queue import enqueue_on_commit
from tenancy.models import Organization

from .delivery import DESTINATION_PRESETS
from .exports import export_preset_zip_write, preset_export_count
from .models import ExportJob, ExportStatus
from .services import IntegrationsError

log = logging.getLogger(__name__)


def _enqueue(job: ExportJob) -> None:
    """Queue the build (jobs.export_job_process) once this transaction commits."""
    enqueue_on_commit("export_job_process", job.pk)


def export_job_start(*, organization: Organization, preset: str, approved_only: bool = True,
                     created_by: User | None) -> ExportJob:
    """Queue an export of the organization's headshots rendered for `preset`; the job runs after commit."""
    if preset not in DESTINATION_PRESETS:
        raise IntegrationsError("invalid_preset", f"Unknown preset {preset!r}; choose one of "
                                                  f"{', '.join(DESTINATION_PRESETS)}.")
    with transaction.atomic():
        job = ExportJob.objects.create(organization=organization, preset=preset, approved_only=approved_only,
                                       created_by=created_by)
        _enqueue(job)
    return job


def export_job_retry(*, job: ExportJob) -> ExportJob:
    """Run a failed export again from the start."""
    with transaction.atomic():
        updated = (ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FAILED)
                   .update(status=ExportStatus.QUEUED, error="", done=0, started_at=None, finished_at=None))
        if not updated:
            raise IntegrationsError("not_failed", "Only a failed export can be retried.", 409)
        _enqueue(job)
    job.refresh_from_db()
    return job


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Build the ZIP into a temporary file on disk, then save it to storage; mark the job done or failed.

    A job found `running` was interrupted (its worker died and the broker handed the message on): it starts
    over. Done and failed jobs are left alone, so a duplicate message does nothing.
    """
    claimed = (ExportJob.objects.filter(pk=job_id, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING])
               .update(status=ExportStatus.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, done=0,
                       skipped=0, error=""))
    if not claimed:
        return None
    job = ExportJob.objects.select_related("organization").get(pk=job_id)
    try:
        total = preset_export_count(organization=job.organization, approved_only=job.approved_only)
        ExportJob.objects.filter(pk=job.pk).update(total=total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(done=done)

        with tempfile.TemporaryFile() as archive:
            written, skipped = export_preset_zip_write(
                organization=job.organization, preset=job.preset, approved_only=job.approved_only, target=archive,
                progress=progress, progress_every=settings.EXPORT_PROGRESS_EVERY)
            archive.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            # The storage copies the file in chunks; the ZIP is never held in memory.
            job.file.save(f"{job.organization.slug}-{job.preset}-{stamp}.zip", File(archive), save=False)
        size = job.file.size
    except BaseException as exc:  # noqa: BLE001 - a time limit (dramatiq's Interrupt) must mark the job too
        log.exception("export job %s failed", job.pk)
        reason = str(exc) or exc.__class__.__name__
        if isinstance(exc, FileNotFoundError):
            reason = f"A stored headshot image is missing ({exc.filename or reason})."
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(),
            error=f"The export failed: {reason} Retry it once the cause is fixed.")
        if not isinstance(exc, Exception):
            raise
        job.refresh_from_db()
        return job
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, file=job.file.name, size_bytes=size, total=written + skipped,
        done=written + skipped, skipped=skipped, finished_at=timezone.now())
    job.refresh_from_db()
    return job
