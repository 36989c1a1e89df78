"""Withdrawal and retention: deleting biometric data is an operation over teams' records (selfies, embeddings,
identity profiles, waiting requests), so it lives here, above teams. Recording and checking consent is the consent
app's (consent.services), below teams, which checks it before each biometric step."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import record_in_transaction
from consent.models import Consent
from teams.generation import generation_finished
from teams.models import Employee, GenerationRequest, Headshot, IdentityProfile, RequestStatus, Selfie, SelfieEmbedding
from teams.selfies import selfie_set_rejudge
from teams.transitions import request_transition
from tenancy.models import Organization

log = logging.getLogger(__name__)

WITHDRAWN_MESSAGE = ("Consent to process your face data was withdrawn, so your selfies were deleted and no headshots "
                     "were made. Give consent and upload selfies again to create headshots.")


def consent_withdraw(*, employee, user) -> int:
    """Withdraw consent and delete the biometric data: embeddings, identity profile, the selfies (rows and files).

    Headshots already made stay. Requests not yet running fail with a clear message; a running one fails when its
    job next checks consent. Returns how many selfies were deleted.
    """
    organization = employee.organization
    selfies = Selfie.objects.for_organization(organization).filter(employee=employee)
    files = [s.file.name for s in selfies if s.file.name]
    storage = Selfie.file.field.storage
    with transaction.atomic():
        type(employee).objects.select_for_update().filter(pk=employee.pk).first()
        Consent.objects.for_organization(organization).filter(employee=employee, withdrawn_at__isnull=True).update(
            withdrawn_at=timezone.now())
        SelfieEmbedding.objects.for_organization(organization).filter(employee=employee).delete()
        IdentityProfile.objects.for_organization(organization).filter(employee=employee).delete()
        deleted = selfies.count()
        selfies.delete()
        waiting = GenerationRequest.objects.for_organization(organization).select_for_update().filter(
            employee=employee, status__in=[RequestStatus.PENDING, RequestStatus.QUEUED])
        failed = [request_transition(request, RequestStatus.FAILED, error=WITHDRAWN_MESSAGE) for request in waiting]
        for request in failed:
            # Schedulers (rollouts) hear about it as about any other finished request.
            transaction.on_commit(lambda request=request: generation_finished.send(
                sender=GenerationRequest, request=request))
        # Files go once the rows are gone for good (a rolled-back withdrawal keeps its photos).
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
        record_in_transaction(action="biometric.deleted", organization=organization, actor=user,
                              object=("employee", employee.pk),
                              detail={"reason": "consent_withdrawn", "selfies_deleted": deleted})
    log.info("consent withdrawn for employee %s: %s selfies deleted", employee.pk, deleted)
    return deleted


def biometric_purge_expired(*, now=None) -> int:
    """Retention: delete the selfies (rows, files, embeddings) an employee had when their headshot was approved,
    once that approval is the organization's biometric_retention_days old. Headshots stay. Returns how many
    selfies were deleted.

    Selfies uploaded after the approval (a later re-take) wait for their own approval. Run daily (cron / CronJob:
    `manage.py purge_biometrics`).
    """
    now = now or timezone.now()
    storage = Selfie.file.field.storage
    deleted = 0
    for organization in Organization.objects.order_by("id"):
        cutoff = now - timedelta(days=organization.biometric_retention_days)
        approvals = (Headshot.objects.for_organization(organization).filter(approved=True, approved_at__isnull=False)
                     .values("employee").annotate(last=Max("approved_at")).filter(last__lte=cutoff))
        for row in approvals:
            selfies = Selfie.objects.for_organization(organization).filter(employee_id=row["employee"],
                                                                           uploaded_at__lte=row["last"])
            files = [s.file.name for s in selfies if s.file.name]
            if not files and not selfies.exists():
                continue
            with transaction.atomic():
                count = selfies.count()
                selfies.delete()  # their SelfieEmbedding rows go with them (CASCADE)
                remaining = Selfie.objects.for_organization(organization).filter(employee_id=row["employee"])
                if remaining.exists():
                    selfie_set_rejudge(employee=Employee.objects.get(pk=row["employee"]))
                else:
                    IdentityProfile.objects.for_organization(organization).filter(
                        employee_id=row["employee"]).delete()
                transaction.on_commit(lambda files=files: [storage.delete(name) for name in files])
                record_in_transaction(action="biometric.deleted", organization=organization, actor="system",
                                      object=("employee", row["employee"]),
                                      detail={"reason": "retention", "selfies_deleted": count})
            deleted += count
            log.info("retention: %s selfies of employee %s deleted", count, row["employee"])
    return deleted
