"""HR review of generated headshots: approve, reject with a note, or regenerate with a note through the real queue."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from brand_kits.services import brand_spec_for

from .errors import TeamsError
from .generation_requests import generation_request_start
from .headshots import headshot_approve
from .models import GenerationRequest, Headshot, ReviewStatus

NOTE_MAX_CHARS = 2000


def _clean_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise TeamsError("note_required", "Write a short note saying what is wrong, so the next attempt can fix it.")
    if len(note) > NOTE_MAX_CHARS:
        raise TeamsError("note_too_long", f"The note can be at most {NOTE_MAX_CHARS} characters.")
    return note


def _mark(headshot: Headshot, status: str, note: str, actor: User | None) -> None:
    headshot.review_status = status
    headshot.review_note = note
    headshot.reviewed_by = actor
    headshot.reviewed_at = timezone.now()
    headshot.save(update_fields=["review_status", "review_note", "reviewed_by", "reviewed_at"])


def headshot_review_approve(*, headshot: Headshot, actor: User | None, note: str = "") -> Headshot:
    """Approve for the directory (the approval signal fires on commit) and record who reviewed it."""
    note = _clean_note(note, required=False)
    with transaction.atomic():
        headshot = headshot_approve(headshot=headshot, approved=True, actor=actor)
        _mark(headshot, ReviewStatus.APPROVED, note, actor)
    return headshot


def headshot_review_withdraw(*, headshot: Headshot, actor: User | None, note: str = "") -> Headshot:
    """Take an approval back: the headshot leaves the directory and waits for review again (not a rejection)."""
    note = _clean_note(note, required=False)
    with transaction.atomic():
        headshot = headshot_approve(headshot=headshot, approved=False, actor=actor)
        _mark(headshot, ReviewStatus.PENDING, note, actor)
    return headshot


def headshot_reject(*, headshot: Headshot, actor: User | None, note: str) -> Headshot:
    """Turn a headshot down; an approved one is withdrawn first, so it is never pushed anywhere again."""
    note = _clean_note(note, required=True)
    with transaction.atomic():
        if headshot.approved:
            headshot = headshot_approve(headshot=headshot, approved=False, actor=actor)
        _mark(headshot, ReviewStatus.REJECTED, note, actor)
    return headshot


def headshot_regenerate(*, headshot: Headshot, actor: User | None, note: str) -> GenerationRequest:
    """Reject the headshot and start a new request for the person with the very kit version it was made with.

    The request goes through generation_request_start (same checks, same queue); it is pinned back to the old
    version before the transaction commits, which is also when the job is sent, so the worker never sees another.
    """
    note = _clean_note(note, required=True)
    version = headshot.brand_kit_version
    with transaction.atomic():
        request = generation_request_start(employee=headshot.employee, created_by=actor, brand_kit=version.kit)
        request.brand_kit_version = version
        request.progress_total = brand_spec_for(version).variants_per_person
        request.regenerated_from = headshot
        request.review_note = note
        request.save(update_fields=["brand_kit_version", "progress_total", "regenerated_from", "review_note"])
        headshot = headshot_reject(headshot=headshot, actor=actor, note=note)
    return request
