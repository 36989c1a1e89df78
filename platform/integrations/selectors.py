"""Directory reads for the pull API: employees with their approved headshot, in a stable (updated, id) order."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils.dateparse import parse_datetime

from teams.models import Employee, Headshot
from tenancy.models import Organization


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last row's effective update time and id."""

    updated: datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.updated.isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        try:
            updated, pk = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            moment = parse_datetime(updated)
            if moment is None or moment.tzinfo is None or not isinstance(pk, int) or not 0 <= pk < 2 ** 63:
                raise ValueError
        except (ValueError, TypeError):
            raise BadCursor("This cursor is not valid; use the next_cursor of a previous page.") from None
        return cls(moment, pk)


def latest_approved_headshots(organization: Organization):
    """Approved headshots newest first: the first per employee is the one the directory shows."""
    return Headshot.objects.for_organization(organization).filter(approved=True).order_by("-approved_at", "-id")


@dataclass(frozen=True, slots=True)
class DirectoryEmployee:
    """One row of the directory listing: only the columns it shows (no model instance per person)."""

    id: int
    external_id: str
    email: str
    name: str
    team: str | None
    active: bool
    updated: datetime
    headshot_approved_at: datetime | None


def directory_employees(*, organization: Organization, updated_since: datetime | None = None,
                        after: Cursor | None = None, limit: int = 100) -> tuple[list[DirectoryEmployee], Cursor | None]:
    """One page of employees ordered by (updated, id), and the cursor of the next page (None on the last).

    `updated` is the later of the employee's own change and their newest approval, so a sync that asks for
    `updated_since` sees both new photos and changed people. A full listing holds active people only; an
    incremental one also holds those deactivated since then (active=false), so a sync can remove them.
    """
    # One grouped join (a hash aggregate over the organization's headshots), not a subquery per person.
    queryset = (Employee.objects.for_organization(organization)
                .annotate(headshot_approved_at=Max("headshots__approved_at", filter=Q(headshots__approved=True)))
                .annotate(updated=Greatest("updated_at", Coalesce("headshot_approved_at", "updated_at"))))
    if updated_since is None:
        queryset = queryset.filter(active=True)
    else:
        queryset = queryset.filter(updated__gte=updated_since)
    if after is not None:
        queryset = queryset.filter(Q(updated__gt=after.updated) | Q(updated=after.updated, pk__gt=after.id))
    # Plain tuples of the shown columns: building 100 model instances (and their team) cost more than the query.
    columns = ("id", "external_id", "email", "name", "team__name", "active", "updated", "headshot_approved_at")
    rows = [DirectoryEmployee(*row)
            for row in queryset.order_by("updated", "id").values_list(*columns)[:limit + 1]]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, Cursor(rows[-1].updated, rows[-1].id)


# What delivery_etag reads of a headshot; the listing loads only these columns.
ETAG_FIELDS = ("id", "employee_id", "approved_at", "file", "width", "height", "renditions", "qc", "variant_params")


def directory_headshots(organization: Organization, employees: list[DirectoryEmployee]) -> dict[int, Headshot]:
    """The newest approved headshot of each active employee in the page, by employee id, in one query."""
    ids = [e.id for e in employees if e.active and e.headshot_approved_at is not None]
    newest: dict[int, Headshot] = {}
    for headshot in latest_approved_headshots(organization).filter(employee_id__in=ids).only(*ETAG_FIELDS):
        newest.setdefault(headshot.employee_id, headshot)  # newest first: keep the first of each person
    return newest


def directory_headshot(*, organization: Organization, external_id: str) -> Headshot | None:
    """The newest approved headshot of the active employee with this external id, or None."""
    return (latest_approved_headshots(organization).select_related("employee")
            .filter(employee__external_id=external_id, employee__active=True).exclude(employee__external_id="")
            .first())
