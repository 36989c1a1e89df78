"""Reactions to teams' domain signals: an approval queues pushes, a deletion queues remote photo removals.

Receivers never raise into the sender (an approval must stand even if queuing a push fails)."""
from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def on_headshot_approved(sender, headshot, actor=None, **kwargs) -> None:
    from .services import photo_syncs_for_approval

    try:
        photo_syncs_for_approval(headshot=headshot)
    except Exception:
        log.exception("could not queue photo pushes for headshot %s", headshot.pk)


def on_employee_deleted(sender, organization_id, employee_id, email, external_id, external_ids, **kwargs) -> None:
    from .jobs import delete_photos_everywhere
    from .models import Connection

    if not Connection.objects.filter(organization_id=organization_id, enabled=True).exists():
        return
    snapshot = {"employee_id": employee_id, "email": email, "external_id": external_id,
                "external_ids": dict(external_ids or {})}
    transaction.on_commit(lambda: delete_photos_everywhere.send(organization_id, snapshot))
