"""Audit log reads shared by the API and the admin portal: one filter, and the CSV rows of its result."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from config.csv_cells import csv_cell

from .models import AuditEvent

CSV_COLUMNS = ("id", "at", "actor_type", "actor_id", "action", "object_type", "object_id", "ip", "request_id",
               "status_code", "detail")


def audit_events(*, organization, action: str = "", actor_type: str = "", actor_id: str = "", object_type: str = "",
                 object_id: str = "", since: datetime | None = None, until: datetime | None = None
                 ) -> QuerySet[AuditEvent]:
    """The organization's events matching every filter given (action matches as a prefix), newest first."""
    events = AuditEvent.objects.for_organization(organization)
    if action:
        events = events.filter(action__startswith=action)
    for name, value in (("actor_type", actor_type), ("actor_id", actor_id), ("object_type", object_type),
                        ("object_id", object_id)):
        if value:
            events = events.filter(**{name: value})
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events.order_by("-at", "-id")


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header and one CSV line per event, read a chunk at a time so any size streams."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.values_list(*CSV_COLUMNS).iterator(chunk_size=1000):
        yield writer.writerow([csv_cell(v.isoformat() if hasattr(v, "isoformat") else v) for v in event])
