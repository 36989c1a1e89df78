"""Consent records: who agreed to which text, when, from where; withdrawn ones are kept as evidence."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from tenancy.models import TenantModel


class ConsentChannel(models.TextChoices):
    PORTAL = "portal", "Portal"
    API = "api", "API"


class Consent(TenantModel):
    employee = models.ForeignKey("teams.Employee", on_delete=models.CASCADE, related_name="consents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text_version = models.CharField(max_length=32)
    # The exact words agreed to (title and paragraphs in the language shown), so a later edit can't be disputed.
    text_sha256 = models.CharField(max_length=64)
    granted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    channel = models.CharField(max_length=16, choices=ConsentChannel.choices)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table (and its index) the model had in the privacy app: moved in Django's state only, no data touched.
        db_table = "privacy_consent"
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["employee", "withdrawn_at"], name="privacy_con_employe_8dd093_idx")]
