"""Webhook endpoints an organization registers, the events sent to them, and one delivery row per (event, endpoint)."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from config.encryption import EncryptedTextField
from tenancy.models import TenantModel


class EventType(models.TextChoices):
    HEADSHOT_APPROVED = "headshot.approved", "Headshot approved"
    REQUEST_COMPLETED = "request.completed", "Generation request completed"
    EMPLOYEE_UPDATED = "employee.updated", "Employee created or updated"
    EMPLOYEE_DELETED = "employee.deleted", "Employee deleted"


# Sent only by the "test" endpoint to the one endpoint asked for; nobody subscribes to it.
PING_EVENT = "webhook.ping"


class WebhookEndpoint(TenantModel):
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # "whsec_" + base64 of 32 random bytes: the HMAC key is the decoded part (Standard Webhooks).
    secret = EncryptedTextField()
    # After a rotation the old secret also signs until previous_secret_expires_at, so receivers can switch over.
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # EventType values; empty means every event type.
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookMessage(TenantModel):
    """One event: the same id, type and payload go to every endpoint that gets it (and to every retry)."""

    # "msg_" + 26 characters (ULID: time-ordered, so ids sort by creation); the `webhook-id` header.
    message_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=64)
    # The `data` member of the body.
    payload = models.JSONField()
    timestamp = models.DateTimeField()
    # Set for events that must be sent once however often their signal fires (a request completes once).
    dedupe_key = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "dedupe_key"], condition=~Q(dedupe_key=""),
                                               name="one_webhook_message_per_dedupe_key")]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    # Every attempt failed (WEBHOOK_MAX_ATTEMPTS).
    FAILED = "failed", "Failed"
    # Not sent (again) because the endpoint is gone, disabled or answered 410 Gone.
    ABANDONED = "abandoned", "Abandoned"


class WebhookDelivery(TenantModel):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due. While an attempt runs it is pushed past the attempt's time-out (a lease), so
    # a duplicate queue message or the resend job can't send the same delivery twice at once.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first 1 KB of the receiver's answer, for the delivery log.
    last_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "message"],
                                               name="one_delivery_per_endpoint_message")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]
