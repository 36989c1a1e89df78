"""Keeps the pull API's `updated_since` honest when an approval is withdrawn (no timestamp records that otherwise)."""
from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from teams.models import Employee, Headshot


@receiver(post_save, sender=Headshot, dispatch_uid="integrations.headshot_withdrawn")
def headshot_withdrawn(sender, instance: Headshot, update_fields=None, **kwargs) -> None:
    # headshot_approve(approved=False) clears approved_at, so the employee's newest approval can go back in time;
    # counting the withdrawal as a change of the person makes the next incremental sync drop or replace the photo.
    if update_fields and "approved" in update_fields and not instance.approved:
        Employee.objects.filter(pk=instance.employee_id).update(updated_at=timezone.now())
