"""Headshot choices: an employee's favourite (which teaches the kit's ranking) and the admin's approval."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from brand_kits.models import BrandKit
from inference.ranking import learn_from_selection

from .models import (
    Headshot,
)
from .signals import headshot_approved, send_on_commit

log = logging.getLogger(__name__)



@transaction.atomic
def headshot_set_selected(*, headshot: Headshot, selected: bool) -> Headshot:
    """Mark a favourite; a new pick also teaches the brand kit's ranking what this company's people choose."""
    was_selected = headshot.selected
    headshot.selected = selected
    headshot.save(update_fields=["selected"])
    if selected and not was_selected:
        kit = BrandKit.objects.select_for_update().get(pk=headshot.brand_kit_version.kit_id)
        shown = list(Headshot.objects.filter(request_id=headshot.request_id).order_by("id"))
        entries = [{"params": h.variant_params, "qc": h.qc, "variant": h.variant, "passed": h.qc_passed}
                   for h in shown]
        kit.ranking_state = learn_from_selection(kit.ranking_state or None, entries,
                                                 [i for i, h in enumerate(shown) if h.pk == headshot.pk])
        kit.save(update_fields=["ranking_state"])
    return headshot


def headshot_approve(*, headshot: Headshot, approved: bool = True, actor: User | None = None) -> Headshot:
    was_approved = headshot.approved
    with transaction.atomic():
        headshot.approved = approved
        headshot.approved_at = timezone.now() if approved else None
        headshot.save(update_fields=["approved", "approved_at"])
        if approved and not was_approved:
            send_on_commit(headshot_approved, headshot=headshot, actor=actor)
    return headshot
