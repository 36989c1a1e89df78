"""A rollout: one admin's order to make headshots for a team or everyone, and the requests it made."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from teams.models import GenerationRequest, Team
from tenancy.models import TenantModel


class RolloutScope(models.TextChoices):
    TEAM = "team", "One team"
    ALL = "all", "Everyone"


class RolloutStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    DONE = "done", "Done"


class RolloutPriority(models.IntegerChoices):
    NORMAL = 0, "normal"
    # New hires: their requests are fed to the queue before any normal rollout's.
    HIGH = 10, "high"


class Rollout(TenantModel):
    scope = models.CharField(max_length=8, choices=RolloutScope.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=12, choices=RolloutStatus.choices, default=RolloutStatus.RUNNING)
    priority = models.PositiveSmallIntegerField(choices=RolloutPriority.choices, default=RolloutPriority.NORMAL)
    # Employees in scope who got no request, and why: [{"employee_id", "reason"}] (selfies missing, one in progress).
    skipped = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The watchdog tick's chain: only a tick carrying the latest token runs (a revived chain supersedes a delayed
    # one), and a tick overdue by far means its message was lost with Redis, so the queue watchdog starts another.
    tick_token = models.CharField(max_length=16, blank=True, default="")
    tick_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "priority"], name="rollout_status_priority")]


class RolloutRequest(TenantModel):
    """The through table between a rollout and the generation requests it made (teams' models stay untouched)."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="items")
    request = models.OneToOneField(GenerationRequest, on_delete=models.CASCADE, related_name="rollout_item")
    # The job found the rollout paused and left the request queued without a message: resume sends it again.
    held = models.BooleanField(default=False)
    # Cancelled before it ran (its request is failed with the reason); finished work is never cancelled.
    cancelled = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["rollout", "held"], name="rollout_item_held")]
