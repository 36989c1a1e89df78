"""Domain signals -> webhook events: payload shapes and the receivers WebhooksConfig.ready connects.

Payloads carry ids, names, email, team and a pull-API link for the image; never face data (embeddings,
identity profiles, QC measurements).
"""
from __future__ import annotations

import functools
import logging
from urllib.parse import quote

from django.conf import settings

from teams.generation import generation_finished
from teams.models import RequestStatus
from teams.signals import employee_changed, employee_deleted, headshot_approved

from .models import EventType
from .services import event_emit

log = logging.getLogger(__name__)


def _never_raises(receiver):
    # generation_finished is sent with send(), not send_robust(): a failing webhook must never fail the job.
    @functools.wraps(receiver)
    def wrapper(*args, **kwargs):
        try:
            receiver(*args, **kwargs)
        except Exception:
            log.exception("webhooks: %s failed; the event was not recorded", receiver.__name__)

    return wrapper


def headshot_pull_url(external_id: str) -> str | None:
    """The directory pull API's address for this person's approved headshot (keyed by the HRIS id)."""
    if not external_id:
        return None
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/directory/employees/{quote(external_id, safe='')}/headshot"


def employee_data(employee) -> dict:
    team = employee.team
    return {"id": employee.pk, "external_id": employee.external_id, "external_ids": dict(employee.external_ids or {}),
            "email": employee.email, "name": employee.name, "active": employee.active,
            "team": {"id": team.pk, "name": team.name} if team else None}


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@_never_raises
def on_headshot_approved(sender, headshot, actor=None, **kwargs) -> None:
    employee = headshot.employee
    event_emit(organization_id=headshot.organization_id, event_type=EventType.HEADSHOT_APPROVED, data={
        "employee": employee_data(employee),
        "headshot": {"id": headshot.pk, "approved_at": _iso(headshot.approved_at), "width": headshot.width,
                     "height": headshot.height, "request_id": headshot.request_id,
                     "url": headshot_pull_url(employee.external_id)},
    })


@_never_raises
def on_employee_changed(sender, employee, created: bool = False, fields=(), **kwargs) -> None:
    # A new employee is an employee.updated with created=true: receivers keep a directory and upsert either way.
    event_emit(organization_id=employee.organization_id, event_type=EventType.EMPLOYEE_UPDATED, data={
        "employee": employee_data(employee), "created": bool(created), "changed_fields": list(fields or ())})


@_never_raises
def on_employee_deleted(sender, organization_id: int, employee_id: int, email: str = "", external_id: str = "",
                        external_ids=None, **kwargs) -> None:
    event_emit(organization_id=organization_id, event_type=EventType.EMPLOYEE_DELETED, data={
        "employee": {"id": employee_id, "external_id": external_id, "external_ids": dict(external_ids or {}),
                     "email": email}})


@_never_raises
def on_generation_finished(sender, request, **kwargs) -> None:
    # Only a finished success is "completed"; failures stay visible in the request's own API.
    if request.status != RequestStatus.DONE:
        return
    employee = request.employee
    event_emit(organization_id=request.organization_id, event_type=EventType.REQUEST_COMPLETED,
               dedupe_key=f"request.completed:{request.pk}", data={
                   # "headshots": all it made; "headshots_delivered": those that passed QC (the person's gallery).
                   "request": {"id": request.pk, "status": request.status, "headshots": request.progress_done,
                               "headshots_delivered": request.headshots.filter(qc_passed=True).count(),
                               "finished_at": _iso(request.finished_at)},
                   "employee": employee_data(employee)})


def connect() -> None:
    headshot_approved.connect(on_headshot_approved, dispatch_uid="webhooks.headshot_approved")
    employee_changed.connect(on_employee_changed, dispatch_uid="webhooks.employee_changed")
    employee_deleted.connect(on_employee_deleted, dispatch_uid="webhooks.employee_deleted")
    generation_finished.connect(on_generation_finished, dispatch_uid="webhooks.generation_finished")
