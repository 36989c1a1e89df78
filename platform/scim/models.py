"""SCIM state of an organization: its bearer tokens, and what a directory sent that the Employee/Team rows don't
hold."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models

from audit.models import ActorType
from teams.models import Employee, Team
from tenancy.models import TenantModel


def hash_secret(secret: str) -> str:
    # The secret is 256 random bits, so one SHA-256 is enough; only the hash is stored.
    return hashlib.sha256(secret.encode()).hexdigest()


class ScimToken(TenantModel):
    """A bearer token a directory (Entra ID, Okta, ...) uses; the token alone identifies the organization."""

    name = models.CharField(max_length=200, blank=True)
    # The first characters of the secret, shown in lists so an admin can tell tokens apart.
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    @property
    def audit_actor(self) -> tuple[str, str, int | None]:
        """Who this token is in the audit log: (actor type, id, the organization it belongs to)."""
        return ActorType.SCIM_TOKEN, str(self.pk), self.organization_id


class ScimUser(TenantModel):
    """The directory's view of an employee: its userName and name parts, kept verbatim so they read back unchanged.

    `written_name`/`written_email` are the Employee's name and email as of the last SCIM write; when an admin has
    changed them since, the employee's own values are shown instead of these.
    """

    employee = models.OneToOneField(Employee, on_delete=models.CASCADE, related_name="scim")
    user_name = models.CharField(max_length=254)
    name = models.JSONField(default=dict, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    emails = models.JSONField(default=list, blank=True)
    written_name = models.CharField(max_length=200, blank=True)
    written_email = models.CharField(max_length=254, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "user_name"])]


class ScimGroup(TenantModel):
    """The directory's externalId of a team provisioned as a SCIM Group."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
