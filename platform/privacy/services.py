"""Consent writes and checks: nothing biometric is processed before consent, and withdrawal deletes it."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record_in_transaction

from .models import Consent, ConsentChannel
from .texts import CONSENT_VERSION, consent_text

log = logging.getLogger(__name__)

USER_AGENT_MAX = 500


def consent_current(employee) -> Consent | None:
    """The employee's consent to the current text, or None (never given, withdrawn, or given to an older text)."""
    return (Consent.objects.for_organization(employee.organization)
            .filter(employee=employee, withdrawn_at__isnull=True, text_version=CONSENT_VERSION).first())


def require_consent(employee) -> Consent:
    from teams.services import TeamsError

    consent = consent_current(employee)
    if consent is None:
        raise TeamsError("consent_required", _("Please agree to the processing of your face data before uploading "
                                               "selfies or creating headshots (see the consent page in the portal)."),
                         403)
    return consent


def consent_grant(*, employee, user, ip: str | None, user_agent: str, channel: str) -> Consent:
    """Record consent to the current text; granting again while consent stands returns the standing record."""
    if channel not in ConsentChannel.values:
        raise ValueError(f"consent channel must be one of {ConsentChannel.values}")
    text = consent_text(employee.organization)
    with transaction.atomic():
        # One grant at a time per employee, so a double-click can't store two standing consents.
        type(employee).objects.select_for_update().filter(pk=employee.pk).first()
        current = consent_current(employee)
        if current is not None:
            return current
        return Consent.objects.create(
            organization=employee.organization, employee=employee, user=user, text_version=text.version,
            text_sha256=text.sha256, ip_address=ip or None, user_agent=(user_agent or "")[:USER_AGENT_MAX],
            channel=channel)


def consent_withdraw(*, employee, user) -> int:
    """Withdraw consent and delete the biometric data: embeddings, identity profile, the selfies (rows and files).

    Headshots already made stay. Requests not yet running fail with a clear message; a running one fails when its
    job next checks consent. Returns how many selfies were deleted.
    """
    from teams.generation import generation_finished
    from teams.models import GenerationRequest, IdentityProfile, RequestStatus, Selfie, SelfieEmbedding
    from teams.services import request_transition

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


NO_CONSENT_MESSAGE = ("There is no consent to process this person's face data (it was withdrawn or never given), so "
                      "no headshots were made. Give consent in the portal and start again.")
WITHDRAWN_MESSAGE = ("Consent to process your face data was withdrawn, so your selfies were deleted and no headshots "
                     "were made. Give consent and upload selfies again to create headshots.")


def biometric_purge_expired(*, now=None) -> int:
    """Retention: delete the selfies (rows, files, embeddings) an employee had when their headshot was approved,
    once that approval is the organization's biometric_retention_days old. Headshots stay. Returns how many
    selfies were deleted.

    Selfies uploaded after the approval (a later re-take) wait for their own approval. Run daily (cron / CronJob:
    `manage.py purge_biometrics`).
    """
    from django.db.models import Max

    from teams.models import Employee, Headshot, IdentityProfile, Selfie
    from teams.services import selfie_set_rejudge
    from tenancy.models import Organization

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
