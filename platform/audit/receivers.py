"""Domain events that happen without an HTTP request of their own (jobs, commits), turned into audit events.

Receivers run after the change is committed and never raise (record() logs and swallows its own failures).
"""
from __future__ import annotations

from django.db.backends.base.creation import TEST_DATABASE_PREFIX


def employee_changed(sender, *, employee, created: bool = False, fields=(), **kwargs) -> None:
    from .services import record

    record(action="employee.created" if created else "employee.updated", organization=employee.organization_id,
           object=("employee", employee.pk), detail={"fields": sorted(str(f) for f in fields or ())})


def employee_deleted(sender, *, organization_id, employee_id, **kwargs) -> None:
    from .services import record

    # The signal also carries the email and external ids: deliberately not kept.
    record(action="employee.deleted", organization=organization_id, object=("employee", employee_id))


def headshot_approved(sender, *, headshot, actor=None, **kwargs) -> None:
    from .services import record

    record(action="headshot.approved", organization=headshot.organization_id, actor=actor,
           object=("headshot", headshot.pk), detail={"employee_id": headshot.employee_id})


def generation_finished(sender, *, request, **kwargs) -> None:
    from .services import record

    record(action=f"generation.{request.status}", organization=request.organization_id, actor="system",
           object=("generationrequest", request.pk), detail={"employee_id": request.employee_id})


def allow_truncate_in_test_database(sender, connection, **kwargs) -> None:
    """Django's test runner empties every table of its throwaway test database with TRUNCATE between transactional
    tests; the append-only trigger lets that through only for sessions that say so, and only these do."""
    if connection.vendor != "postgresql":
        return
    if str(connection.settings_dict.get("NAME") or "").startswith(TEST_DATABASE_PREFIX):
        with connection.cursor() as cursor:
            cursor.execute("SET audit.allow_truncate = 'on'")
