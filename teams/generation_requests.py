"""Generation requests: start one on a frozen selfie set and brand kit version, hand it to the queue, send lost
ones again, retry a failed one."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record_in_transaction
from brand_kits.models import BrandKit
from brand_kits.services import brand_spec_for
from tenancy.models import Organization

from .errors import TeamsError, consent_required
from .jobs import generate_headshots
from .models import (
    Employee,
    GenerationRequest,
    RequestStatus,
    Selfie,
)
from .transitions import request_transition

log = logging.getLogger(__name__)



def default_brand_kit(organization: Organization) -> BrandKit | None:
    return BrandKit.objects.for_organization(organization).filter(archived_at__isnull=True).order_by("-id").first()


def generation_request_start(*, employee: Employee, created_by: User | None,
                             brand_kit: BrandKit | None = None) -> GenerationRequest:
    """Freeze the selfie set and brand kit version, then enqueue the job once the transaction commits."""
    consent_required(employee)
    organization = employee.organization
    kit = brand_kit or default_brand_kit(organization)
    if kit is None:
        raise TeamsError("no_brand_kit", "Your organization has no brand kit yet. Ask your HR team to create one.", 409)
    if kit.archived_at is not None:
        raise TeamsError("brand_kit_archived", "This brand kit is archived.", 409)
    selfies = list(Selfie.objects.for_organization(organization).filter(employee=employee, in_set=True))
    if len(selfies) < organization.selfies_required:
        raise TeamsError("not_enough_selfies", f"Upload at least {organization.selfies_required} accepted "
                                               f"selfie(s) first; you have {len(selfies)}.", 409)
    active = GenerationRequest.objects.for_organization(organization).filter(
        employee=employee, status__in=[RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING])
    if active.exists():
        raise TeamsError("request_in_progress", "A generation is already in progress for this employee.", 409)
    version = kit.current_version
    backend = brand_spec_for(version).backend
    if backend in ("diffusion", "klein") and not settings.MODEL_STORE:
        raise TeamsError("backend_unavailable", f"This brand kit uses the {backend} backend, which this deployment "
                                                "doesn't run (no MODEL_STORE). Ask your HR team to switch the kit to "
                                                "the studio backend.", 409)
    with transaction.atomic():
        request = GenerationRequest.objects.create(
            organization=organization, employee=employee, brand_kit_version=version, created_by=created_by,
            seed=secrets.randbelow(2**31), progress_total=brand_spec_for(version).variants_per_person)
        request.selfies.set(selfies)
        request_transition(request, RequestStatus.QUEUED)
        request_enqueue(request)
    return request


def request_enqueue(request: GenerationRequest) -> None:
    """Send the request's job once the transaction commits. If the broker can't take it, the request stays queued
    in PostgreSQL and requests_resend_stale() sends it again: a hand-off is never lost, and never a 500."""
    request_id = request.pk

    def send() -> None:
        try:
            generate_headshots.send(request_id)
        except Exception:  # redis.ConnectionError and friends: the broker is down or restarting
            log.warning("could not queue generation request %s; it will be sent again", request_id, exc_info=True)

    transaction.on_commit(send)


def requests_resend_stale() -> int:
    """Send again every request queued longer than GENERATION_REQUEUE_AFTER_SECONDS (its message was lost).

    Requests held by a paused rollout are left alone: resuming the rollout sends them."""
    cutoff = timezone.now() - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        stale = list(GenerationRequest.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(status=RequestStatus.QUEUED, queued_at__lt=cutoff)
                     .exclude(rollout_item__held=True))
        for request in stale:
            GenerationRequest.objects.filter(pk=request.pk).update(queued_at=timezone.now())
            request_enqueue(request)
    if stale:
        log.warning("sent %d stale queued generation request(s) again", len(stale))
    return len(stale)


def generation_request_retry(*, request: GenerationRequest, actor: User | None = None) -> GenerationRequest:
    """Send a failed request through the queue again (after the disk was freed, Ray came back, ...).

    Headshots it already stored are kept: the job finds them by idempotency key and only makes what is missing.
    Refused like a new request when the employee's consent no longer stands (withdrawal deleted the selfies)."""
    with transaction.atomic():
        request = GenerationRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.FAILED:
            raise TeamsError("not_failed", f"Only a failed request can be retried; this one is {request.status}.", 409)
        consent_required(request.employee)
        previous_error = request.error
        request_transition(request, RequestStatus.QUEUED, error="")
        request_enqueue(request)
        record_in_transaction(action="generation.retried", organization=request.organization_id,
                              actor=actor or "system", object=("generationrequest", request.pk),
                              detail={"employee_id": request.employee_id, "previous_error": previous_error[:500]})
    return request


