"""Test-only: let Django's flush between transactional tests TRUNCATE the append-only audit log.

The trigger of audit migration 0002 refuses TRUNCATE except in a session that set `audit.allow_truncate = on`.
The app never sets it (whatever its database is called); only the test session's own connections do, from here.
"""
from __future__ import annotations


def allow_truncate(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET audit.allow_truncate = 'on'")


def connect() -> None:
    from django.db.backends.signals import connection_created

    connection_created.connect(allow_truncate, dispatch_uid="tests.audit_flush")
