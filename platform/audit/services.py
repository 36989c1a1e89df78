"""Writing audit events.

Two paths, by what the event is:
- `record_in_transaction()`: a domain change (a role granted, an employee deleted, a key revoked, a person erased).
  The event is written inside the change's own transaction and a failed write raises `AuditWriteError`, so the
  change and its event commit together or not at all: no change goes unlogged.
- `record()` / `record_many()`: reads (`headshot.viewed`, `biometric.read`) and the HTTP access log. Best effort: a
  failed write is logged with its action, organization and object, and the read goes on, so an outage of the log
  can't take downloads down.
"""
from __future__ import annotations

import contextvars
import ipaddress
import logging
import re

from django.conf import settings
from django.db import transaction

from config.errors import ServiceError

from .models import ActorType, AuditEvent

log = logging.getLogger(__name__)

# The HTTP request being served, so events raised deep inside it (signals, services) carry its actor, IP and id.
current_request: contextvars.ContextVar = contextvars.ContextVar("audit_current_request", default=None)

DETAIL_MAX_CHARS = 4000


class AuditWriteError(ServiceError):
    """A domain change's audit event could not be written; raised inside the change's transaction, so the change is
    rolled back with it. APIs answer 503 (config.api_errors maps every ServiceError)."""

    def __init__(self, action: str):
        super().__init__("audit_unavailable", "Could not record the audit event, so nothing was changed. "
                                              "Try again in a moment.", 503)
        self.action = action


def record_in_transaction(*, action: str, organization=None, actor=None, object=None, request=None,
                          detail: dict | None = None, status_code: int | None = None, using: str = "default"
                          ) -> AuditEvent:
    """Append one domain event in the caller's transaction; raises AuditWriteError when it can't be written.

    Must run inside `transaction.atomic()` (the one that makes the change): outside one, the change would already
    be committed and there would be nothing left to roll back, so that is a programming error (RuntimeError).
    Arguments as for `record`.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError(f"audit: {action} must be recorded inside the transaction that makes the change")
    try:
        return _write([_build(action=action, organization=organization, actor=actor, object=object,
                              request=request, detail=detail, status_code=status_code)])[0]
    except Exception as exc:
        log.exception("audit: could not record %s (%s); the change is rolled back", action,
                      _context(organization, object))
        raise AuditWriteError(action) from exc


def record(*, action: str, organization=None, actor=None, object=None, request=None, detail: dict | None = None,
           status_code: int | None = None) -> AuditEvent | None:
    """Append one read or HTTP event, best effort: returns it, or None when writing failed (logged with the action,
    organization and object, not raised). Domain changes use `record_in_transaction` instead.

    organization: an Organization or its id; else taken from the request (its organization, API key or SCIM token).
    actor: a User, an integrations ApiKey, a ScimToken (anything with an `audit_actor`), or "system"; else the
    request's authenticated caller.
    object: a model instance (type = its model name, id = its pk) or a (type, id) pair.
    detail: ids and field names only, never personal data.
    """
    try:
        return _write([_build(action=action, organization=organization, actor=actor, object=object, request=request,
                              detail=detail, status_code=status_code)])[0]
    except Exception:
        log.exception("audit: could not record %s (%s)", action, _context(organization, object))
        return None


def record_many(events: list[dict]) -> list[AuditEvent]:
    """Append several read events (each the keyword arguments of `record`) in one insert; best effort, as `record`
    (a failure is logged with each event's action, organization and object)."""
    try:
        return _write([_build(**event) for event in events])
    except Exception:
        log.exception("audit: could not record %s events: %s", len(events), "; ".join(
            f"{event.get('action')} ({_context(event.get('organization'), event.get('object'))})"
            for event in events[:20]))
        return []


def _context(organization, object) -> str:
    """Where a failed event was going, for the log line: organization id and object type/id (never raises)."""
    try:
        organization_id = organization if organization is None or isinstance(organization, int) else organization.pk
        object_type, object_id = _object(object)
    except Exception:
        return f"organization {organization!r}, object {object!r}"
    return f"organization {organization_id}, object {object_type or '-'}:{object_id or '-'}"


def generation_inputs_read(*, generation, selfies, colleague_profiles) -> None:
    """The generation job read a person's selfies and colleagues' identity profiles: one `biometric.read` per person
    whose data was read, so "who processed this person's face data" is one query on object_type/object_id."""
    base = {"organization": generation.organization_id, "actor": "system"}
    events = [dict(base, action="biometric.read", object=("employee", generation.employee_id),
                   detail={"data": "selfies", "selfie_ids": [s.pk for s in selfies],
                           "purpose": "generation", "generation_request_id": generation.pk})]
    for key in colleague_profiles:
        events.append(dict(base, action="biometric.read", object=("employee", key.removeprefix("employee-")),
                           detail={"data": "identity_profile", "purpose": "generation_identity_check",
                                   "generation_request_id": generation.pk}))
    record_many(events)


def _write(events: list[AuditEvent]) -> list[AuditEvent]:
    # A savepoint: a failed best-effort insert must not break the caller's transaction (a strict one raises anyway).
    with transaction.atomic():
        if len(events) == 1:
            events[0].save()
            return events
        return AuditEvent.objects.bulk_create(events)


def _build(*, action, organization=None, actor=None, object=None, request=None, detail=None,
           status_code=None) -> AuditEvent:
    request = request if request is not None else current_request.get()
    actor_type, actor_id, actor_org = _actor(actor, request)
    object_type, object_id = _object(object)
    detail = dict(detail or {})
    if len(str(detail)) > DETAIL_MAX_CHARS:
        detail = {"truncated": True, "keys": sorted(detail)[:50]}
    return AuditEvent(
        organization_id=_organization_id(organization, request, actor_org), actor_type=actor_type,
        actor_id=actor_id, action=action[:64], object_type=object_type, object_id=object_id,
        ip=client_ip(request) if request is not None else None,
        request_id=getattr(request, "audit_request_id", "") if request is not None else "",
        status_code=status_code, detail=detail)


def _actor(actor, request) -> tuple[str, str, int | None]:
    """(actor type, actor id, the organization the actor belongs to, if it is a key or token)."""
    if actor == "system":
        return ActorType.SYSTEM, "", None
    if actor is None and request is not None:
        scim_token = getattr(request, "scim_token", None)
        auth = getattr(request, "auth", None)
        user = getattr(request, "user", None)
        if _names_itself(scim_token):
            actor = scim_token
        elif _names_itself(auth):
            actor = auth
        elif user is not None and user.is_authenticated:
            actor = user
        else:
            return ActorType.ANONYMOUS, "", None
    if _names_itself(actor):
        return actor.audit_actor
    if actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) is not None:
        return ActorType.USER, str(actor.pk), None
    return (ActorType.SYSTEM, "", None) if request is None else (ActorType.ANONYMOUS, "", None)


def _names_itself(actor) -> bool:
    """An API key (integrations.ApiKey) or a SCIM token (scim.ScimToken): a credential of one organization, which
    names itself in the log through its `audit_actor` property, so the log imports neither app."""
    return actor is not None and hasattr(type(actor), "audit_actor")


def _organization_id(organization, request, actor_org: int | None) -> int | None:
    if organization is not None:
        return organization if isinstance(organization, int) else organization.pk
    if actor_org is not None:
        return actor_org
    resolved = getattr(request, "organization", None) if request is not None else None
    return getattr(resolved, "pk", None)


def _object(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return str(obj[0])[:64], str(obj[1])[:64]
    return obj._meta.model_name, str(obj.pk)


def client_ip(request) -> str | None:
    """REMOTE_ADDR; the first X-Forwarded-For address only behind a trusted proxy (AUDIT_TRUST_X_FORWARDED_FOR)."""
    meta = getattr(request, "META", {})
    candidates = []
    if settings.AUDIT_TRUST_X_FORWARDED_FOR:
        candidates.append(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip())
    candidates.append(meta.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_from(header: str) -> str | None:
    """A caller's X-Request-ID when it is a plain token (so a log line can't be forged with it), else None."""
    return header if _REQUEST_ID.match(header or "") else None
