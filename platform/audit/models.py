"""The audit log: one row per state change or biometric access; rows are only ever added, never changed or removed."""
from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class AppendOnlyError(Exception):
    """Someone tried to change or remove an audit event (the database refuses it too, see migration 0002)."""


class ActorType(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    SCIM_TOKEN = "scim_token", "SCIM token"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Anonymous"


class AuditEventQuerySet(models.QuerySet):
    def for_organization(self, organization) -> AuditEventQuerySet:
        # Fail closed like TenantQuerySet: no organization means no rows, never the site-level ones.
        if organization is None:
            return self.none()
        return self.filter(organization_id=organization.pk)

    def update(self, **kwargs):
        raise AppendOnlyError("Audit events can't be changed.")

    def delete(self):
        raise AppendOnlyError("Audit events can't be deleted.")


class AuditEvent(models.Model):
    """Ids and field names only, never personal data (no emails, names, file names, embeddings), so erasing a
    person elsewhere leaves nothing about them here. No foreign keys: the log outlives deleted users and tenants."""

    at = models.DateTimeField(db_default=Now())
    # A plain column, not a ForeignKey: deleting an organization must neither cascade into nor be blocked by the log.
    organization_id = models.BigIntegerField(null=True, blank=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization_id", "at"], name="audit_org_at"),
            models.Index(fields=["action"], name="audit_action"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_type}:{self.actor_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events can't be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events can't be deleted.")
