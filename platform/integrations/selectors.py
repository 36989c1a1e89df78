"""Directory reads for the pull API: employees with their approved headshot, in a stable (updated, id) order."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Max, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils.dateparse import parse_datetime

from teams.models import Employee, Headshot
from teams.rendering import ETAG_SOURCE_COLUMNS, EtagSource
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
    def decode(cls, value: str) -> Cursor:
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


def api_time(moment: datetime | None) -> str | None:
    """A time as the API writes it (DRF's JSON encoder: ISO 8601 in UTC, "Z", microseconds unless zero)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True, slots=True)
class DirectoryEmployee:
    """One row of the directory listing: only the columns it shows (no model instance per person), its times as
    the API writes them (`api_time`: on PostgreSQL the database formats them, 100 rows x 2 times a page)."""

    id: int
    external_id: str
    email: str
    name: str
    team: str | None
    active: bool
    updated: str
    headshot_approved_at: str | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(datetime.fromisoformat(self.updated), self.id)


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
    rows = [DirectoryEmployee(*row[:6], api_time(row[6]), api_time(row[7]))
            for row in queryset.order_by("updated", "id").values_list(*columns)[:limit + 1]]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, rows[-1].cursor


@dataclass(frozen=True, slots=True)
class DirectoryHeadshot:
    approved_at: str  # api_time
    etag_source: EtagSource


def directory_headshots(organization: Organization, employees: list[DirectoryEmployee]) -> dict[int, DirectoryHeadshot]:
    """The newest approved headshot of each active employee in the page, by employee id, in one query: only what the
    listing shows and its ETag needs (the JSON keys picked out by the database), no model instances."""
    ids = [e.id for e in employees if e.active and e.headshot_approved_at is not None]
    newest: dict[int, DirectoryHeadshot] = {}
    rows = (latest_approved_headshots(organization).filter(employee_id__in=ids)
            .values_list("employee_id", "approved_at", *ETAG_SOURCE_COLUMNS))
    for employee_id, approved_at, *source in rows:
        if employee_id not in newest:  # newest first: keep the first of each person
            newest[employee_id] = DirectoryHeadshot(api_time(approved_at), EtagSource(*source))
    return newest


def directory_page(*, organization: Organization, updated_since: datetime | None = None, after: Cursor | None = None,
                   limit: int = 100) -> tuple[list[DirectoryEmployee], dict[int, DirectoryHeadshot], Cursor | None]:
    """One page of the directory: its people, the newest approved headshot of each active one, the next cursor.

    On PostgreSQL one hand-written query does it (measured: the ORM's compiling and converting of the two queries
    below cost more app CPU than everything else in the request); elsewhere (the SQLite demo) the two ORM queries.
    Both answer the same, row for row; the pull API's tests run on PostgreSQL.
    """
    if connection.vendor != "postgresql":
        employees, cursor = directory_employees(organization=organization, updated_since=updated_since, after=after,
                                                limit=limit)
        return employees, directory_headshots(organization, employees), cursor
    conditions, params = [], [organization.pk, organization.pk]
    if updated_since is None:
        conditions.append("e.active")
    else:
        conditions.append(f"{_UPDATED} >= %s")
        params.append(updated_since)
    if after is not None:
        conditions.append(f"({_UPDATED} > %s OR ({_UPDATED} = %s AND e.id > %s))")
        params += [after.updated, after.updated, after.id]
    params.append(limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(_PAGE_SQL.format(where=" AND ".join(conditions)), params)
        rows = cursor.fetchall()
    employees, headshots = [], {}
    for (pk, external_id, email, name, team, active, updated, approved_at, headshot_id, content_tag) in rows[:limit]:
        employees.append(DirectoryEmployee(pk, external_id, email, name, team, active, updated, approved_at))
        if active and headshot_id is not None:
            headshots[pk] = DirectoryHeadshot(approved_at, EtagSource(headshot_id, content_tag))
    following = employees[-1].cursor if len(rows) > limit else None
    return employees, headshots, following


# `updated` as directory_employees defines it: the later of the employee's change and their newest approval.
_UPDATED = "GREATEST(e.updated_at, COALESCE(n.approved_at, e.updated_at))"


def _api_time_sql(column: str) -> str:
    """api_time() in SQL: ISO 8601 in UTC with "Z", the microseconds left out when they are zero."""
    return (f"regexp_replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
            f"'\\.000000Z$', 'Z')")

# The newest approved headshot per person (DISTINCT ON keeps the first of each employee in approval order), joined
# to the page's people; only the columns the listing shows and its ETags need. The times are formatted after the
# LIMIT, for the page's rows only (formatting all of a 1,000-person organization's rows was 2 of its 3.4 ms).
_PAGE_SQL = f"""
WITH n AS (
    SELECT DISTINCT ON (h.employee_id) h.employee_id, h.id, h.approved_at, h.content_tag
    FROM teams_headshot h
    WHERE h.organization_id = %s AND h.approved
    ORDER BY h.employee_id, h.approved_at DESC, h.id DESC
), page AS (
    SELECT e.id, e.external_id, e.email, e.name, t.name AS team, e.active, {_UPDATED} AS updated,
           n.approved_at, n.id AS headshot_id, n.content_tag
    FROM teams_employee e
    LEFT JOIN teams_team t ON t.id = e.team_id
    LEFT JOIN n ON n.employee_id = e.id
    WHERE e.organization_id = %s AND {{where}}
    ORDER BY updated, e.id
    LIMIT %s
)
SELECT id, external_id, email, name, team, active, {_api_time_sql("updated")}, {_api_time_sql("approved_at")},
       headshot_id, content_tag
FROM page
ORDER BY updated, id
"""


def directory_headshot(*, organization: Organization, external_id: str) -> Headshot | None:
    """The newest approved headshot of the active employee with this external id, or None."""
    return (latest_approved_headshots(organization).select_related("employee")
            .filter(employee__external_id=external_id, employee__active=True).exclude(employee__external_id="")
            .first())
