"""Directory connections of an organization, each employee's Slack link, and push status per employee x destination."""
from __future__ import annotations

from django.db import models

from config.encryption import EncryptedJSONField, EncryptedTextField
from tenancy.models import TenantModel


class ConnectionKind(models.TextChoices):
    MICROSOFT_GRAPH = "microsoft_graph", "Microsoft 365 (Graph)"
    GOOGLE_DIRECTORY = "google_directory", "Google Workspace directory"
    BAMBOOHR = "bamboohr", "BambooHR"


class Destination(models.TextChoices):
    MICROSOFT_GRAPH = "microsoft_graph", "Microsoft 365 (Graph)"
    GOOGLE_DIRECTORY = "google_directory", "Google Workspace directory"
    BAMBOOHR = "bamboohr", "BambooHR"
    SLACK = "slack", "Slack"


class Connection(TenantModel):
    """An organization-level directory the approved photos go to; credentials are write-only through the API."""

    kind = models.CharField(max_length=32, choices=ConnectionKind.choices)
    # graph: tenant_id, client_id, client_secret; google: service_account (JSON key), admin_email;
    # bamboohr: company_domain, api_key. Never serialized out.
    credentials = EncryptedJSONField(default=dict)
    # Overrides for sovereign clouds and tests: the API base and the sign-in base (Graph) / token URL (Google).
    base_url = models.URLField(blank=True)
    auth_url = models.URLField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="one_connection_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.organization_id})"


class SlackConnection(TenantModel):
    """An employee's own Slack user token (users.profile:write): Slack lets only the person set their photo."""

    employee = models.OneToOneField("teams.Employee", on_delete=models.CASCADE, related_name="slack_connection")
    access_token = EncryptedTextField()
    team_id = models.CharField(max_length=64)
    slack_user_id = models.CharField(max_length=64)
    scope = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class PhotoSync(TenantModel):
    """Where one employee's approved photo stands at one destination; refreshed on every approval."""

    employee = models.ForeignKey("teams.Employee", on_delete=models.CASCADE, related_name="photo_syncs")
    destination = models.CharField(max_length=32, choices=Destination.choices)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The approved headshot this row is pushing; synced_headshot is the one the destination holds now.
    headshot = models.ForeignKey("teams.Headshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    synced_headshot = models.ForeignKey("teams.Headshot", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=255, blank=True)
    remote_etag = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["employee", "destination"], name="one_sync_per_destination")]
        indexes = [models.Index(fields=["organization", "status"])]


class DeletionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    UNSUPPORTED = "unsupported", "Not supported by the destination"


class PhotoDeletion(TenantModel):
    """A deleted employee's photo to remove from a destination; outlives the employee row (erasure evidence)."""

    employee_ref = models.PositiveBigIntegerField(help_text="id of the deleted employee")
    destination = models.CharField(max_length=32, choices=Destination.choices)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    remote_user = models.CharField(max_length=255, blank=True)
    # Slack only: the person's own user token, the one key to their photo, kept from their Slack link until the
    # removal is done or given up (their link is deleted with them).
    credential = EncryptedTextField(blank=True)
    status = models.CharField(max_length=16, choices=DeletionStatus.choices, default=DeletionStatus.PENDING)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
