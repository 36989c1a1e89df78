"""API keys that let an HRIS or directory pull one organization's data, and export jobs that build ZIPs in storage."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from audit.models import ActorType
from tenancy.models import Organization, TenantModel

# Every key starts with this, so a leaked one is easy to recognise (and for secret scanners to match).
API_KEY_PREFIX = "hs_live_"


class ApiKeyScope(models.TextChoices):
    HEADSHOTS_READ = "headshots:read", "Read approved headshots"
    EMPLOYEES_READ = "employees:read", "Read the employee directory"


def api_key_digest(key: str) -> str:
    # The key carries ~238 random bits, so a fast unsalted hash is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(TenantModel):
    name = models.CharField(max_length=200)
    scopes = models.JSONField(default=list)
    # The first characters of the key ("hs_live_" + a public id): shown in lists and used to find the row.
    prefix = models.CharField(max_length=32, unique=True)
    # sha256 of the whole key; the key itself is shown once, on creation, and never stored.
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The moment the key stops working; in the future while a rotated key is in its grace period.
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="rotated_to")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_revoked(self, now=None) -> bool:
        return self.revoked_at is not None and self.revoked_at <= (now or timezone.now())

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def status(self) -> str:
        now = timezone.now()
        if self.is_revoked(now):
            return "revoked"
        if self.is_expired(now):
            return "expired"
        return "rotating" if self.revoked_at else "active"

    @property
    def audit_actor(self) -> tuple[str, str, int | None]:
        """Who this key is in the audit log: (actor type, id, the organization it belongs to)."""
        return ActorType.API_KEY, str(self.pk), self.organization_id


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def export_upload_to(instance: ExportJob, filename: str) -> str:
    return f"orgs/{instance.organization_id}/exports/{instance.pk}/{filename}"


class ExportJob(TenantModel):
    """A ZIP of headshots rendered for one destination preset, with a CSV manifest, built by a job into storage."""

    # "Export #3" counts this organization's exports only (ids are global and would leak others' volume).
    number = models.PositiveIntegerField(editable=False)
    preset = models.CharField(max_length=32)
    approved_only = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # Headshots the preset can't use (e.g. smaller than its minimum): left out, with the reason in manifest.csv.
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to=export_upload_to, max_length=300, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="exportjob_number_per_org")]

    def save(self, *args, **kwargs):
        if self.number is None:
            # Numbered here, not in one service, so no way of creating a job can skip it. Locking the
            # organization's row serializes concurrent starts in one organization; the constraint backs it up.
            with transaction.atomic():
                Organization.objects.select_for_update().only("pk").get(pk=self.organization_id)
                last = (ExportJob.objects.filter(organization_id=self.organization_id)
                        .aggregate(last=models.Max("number"))["last"])
                self.number = (last or 0) + 1
                return super().save(*args, **kwargs)
        return super().save(*args, **kwargs)
