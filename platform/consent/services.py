"""Consent writes and checks: nothing biometric is processed before consent.

The low-level fact that teams checks before each biometric step. Withdrawal, which also deletes the biometric data
and fails waiting requests, is an operation over teams' data and lives above it (privacy.services).
"""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from config.errors import ServiceError

from .models import Consent, ConsentChannel
from .texts import CONSENT_VERSION, consent_text

USER_AGENT_MAX = 500

NO_CONSENT_MESSAGE = ("There is no consent to process this person's face data (it was withdrawn or never given), so "
                      "no headshots were made. Give consent in the portal and start again.")


class ConsentError(ServiceError):
    """A biometric step was asked for without the person's current consent."""


def consent_current(employee) -> Consent | None:
    """The employee's consent to the current text, or None (never given, withdrawn, or given to an older text)."""
    return (Consent.objects.for_organization(employee.organization)
            .filter(employee=employee, withdrawn_at__isnull=True, text_version=CONSENT_VERSION).first())


def require_consent(employee) -> Consent:
    """The employee's current consent; ConsentError (consent_required, 403) when there is none."""
    consent = consent_current(employee)
    if consent is None:
        raise ConsentError("consent_required", _("Please agree to the processing of your face data before uploading "
                                                 "selfies or creating headshots (see the consent page in the "
                                                 "portal)."), 403)
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
