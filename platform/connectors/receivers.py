"""Reactions to teams' domain signals: an approval queues pushes, a deletion queues remote photo removals.

Receivers never raise into the sender (an approval must stand even if queuing a push fails)."""
from __future__ import annotations

import logging

from django.db import transaction

from config.job_queue import enqueue_on_commit
from teams.models import Employee

from .models import Connection, DeletionStatus, PhotoDeletion
from .services import photo_syncs_for_approval, slack_photo_deletion_keep

log = logging.getLogger(__name__)


def on_headshot_approved(sender, headshot, actor=None, **kwargs) -> None:
    try:
        photo_syncs_for_approval(headshot=headshot)
    except Exception:
        log.exception("could not queue photo pushes for headshot %s", headshot.pk)


def before_employee_delete(sender, instance, origin=None, **kwargs) -> None:
    """pre_delete of an Employee: keep the Slack token that removing their photo needs (their link goes with them).
    Not when their whole organization is being deleted: nothing of it may be left behind then."""
    if not (isinstance(origin, Employee) or getattr(origin, "model", None) is Employee):
        return
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the deletion's transaction usable
            slack_photo_deletion_keep(instance)
    except Exception:
        log.exception("could not keep the Slack photo removal of employee %s", instance.pk)


def on_employee_deleted(sender, organization_id, employee_id, email, external_id, external_ids, **kwargs) -> None:
    slack_photo = PhotoDeletion.objects.filter(organization_id=organization_id, employee_ref=employee_id,
                                               status=DeletionStatus.PENDING)
    if not (Connection.objects.filter(organization_id=organization_id, enabled=True).exists()
            or slack_photo.exists()):
        return
    snapshot = {"employee_id": employee_id, "email": email, "external_id": external_id,
                "external_ids": dict(external_ids or {})}
    enqueue_on_commit("delete_photos_everywhere", organization_id, snapshot)
