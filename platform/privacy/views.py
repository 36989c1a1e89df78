"""The public privacy notice of an organization: what is processed and how long it is kept, readable without login."""
from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404, render

from consent.texts import consent_text
from tenancy.models import Organization


def privacy_notice(request, org_slug: str):
    organization = get_object_or_404(Organization, slug=org_slug)
    return render(request, "privacy/notice.html", {
        "organization": organization, "text": consent_text(organization),
        "retention_days": settings.BIOMETRIC_RETENTION_DAYS})
