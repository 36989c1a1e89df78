"""The generation request's status machine: the one way a request changes status.

Its own module, below both the services (which start and retry requests and enqueue their job) and generation (the
job's body), so the job module can import generation and the services can import the job without a cycle.
"""
from __future__ import annotations

from django.utils import timezone

from .errors import TeamsError
from .models import STATUS_TRANSITIONS, GenerationRequest, RequestStatus


def request_transition(request: GenerationRequest, to: str, **fields) -> GenerationRequest:
    """Move a request along the status machine; any other move is a programming error."""
    if to != request.status and to not in STATUS_TRANSITIONS[request.status]:
        raise TeamsError("invalid_transition", f"A {request.status} request can't become {to}.", 409)
    now = timezone.now()
    request.status = to
    stamps = {RequestStatus.QUEUED: "queued_at", RequestStatus.RUNNING: "started_at",
              RequestStatus.DONE: "finished_at", RequestStatus.FAILED: "finished_at"}
    if to in stamps:
        fields.setdefault(stamps[to], now)
    for key, value in fields.items():
        setattr(request, key, value)
    request.save(update_fields=["status", *fields.keys()])
    return request
