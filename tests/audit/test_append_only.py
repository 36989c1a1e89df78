"""The log is append-only: the model and PostgreSQL both refuse to change, delete or truncate audit events."""
from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(org_a):
    return record(action="employee.updated", organization=org_a, actor="system", object=("employee", 7),
                  detail={"fields": ["name"]})


def test_recorded_event_gets_its_time_from_the_database(event):
    assert event.at == AuditEvent.objects.get(pk=event.pk).at
    assert event.at.tzinfo is not None
    assert (event.actor_type, event.object_type, event.object_id) == ("system", "employee", "7")


def test_model_refuses_to_save_an_existing_event_again(event):
    event.action = "employee.deleted"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "employee.updated"


def test_model_and_queryset_refuse_to_delete_or_update(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    assert AuditEvent.objects.filter(pk=event.pk, action="employee.updated").exists()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
    "DELETE FROM audit_auditevent WHERE id = %s",
    "DELETE FROM audit_auditevent WHERE id <> %s",  # refused even when it would touch no rows of interest
])
def test_database_refuses_raw_update_and_delete(event, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "employee.updated"


def test_database_refuses_truncate_unless_the_session_is_a_test_flush(event):
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL audit.allow_truncate = 'off'")
            cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_no_app_code_lets_a_connection_truncate_the_log_whatever_its_database_is_called():
    """Only the test session (tests/audit_flush.py) allows TRUNCATE; a connection the app opens to this very test_*
    database, without that test hook, gets no such allowance."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    from tests import audit_flush

    assert connection.settings_dict["NAME"].startswith("test_")
    fresh = connections.create_connection("default")
    connection_created.disconnect(dispatch_uid="tests.audit_flush")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SELECT current_setting('audit.allow_truncate', true)")
            assert cursor.fetchone()[0] in (None, "")
    finally:
        audit_flush.connect()
        fresh.close()
