"""The Consent model moved from the privacy app to the consent app in Django's state only: the table, its index
and every row stay as they were, in both directions."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from consent.models import Consent
from consent.services import consent_current
from consent.texts import CONSENT_VERSION
from tests.factories import make_employee

# Before the move: privacy's Consent, no consent app.
BEFORE = [("privacy", "0002_erasure_receipt"), ("consent", None)]
STATE_BEFORE = [("privacy", "0002_erasure_receipt")]


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "privacy_consent"))


@pytest.mark.django_db(transaction=True)
def test_consent_rows_stay_where_they_are_when_the_model_changes_app(org_a):
    employee = make_employee(org_a)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    indexes_before = _indexes()
    OldConsent = executor.loader.project_state(STATE_BEFORE).apps.get_model("privacy", "Consent")
    old = OldConsent.objects.create(organization_id=org_a.pk, employee_id=employee.pk, text_version=CONSENT_VERSION,
                                    text_sha256="a" * 64, ip_address="192.0.2.7", user_agent="agent",
                                    channel="portal")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = Consent.objects.get(pk=old.pk)
    assert (moved.employee_id, moved.text_sha256, moved.ip_address, moved.user_agent, moved.channel) == (
        employee.pk, "a" * 64, "192.0.2.7", "agent", "portal")
    assert consent_current(employee) == moved
    assert Consent._meta.db_table == "privacy_consent"
    assert _indexes() == indexes_before and "privacy_con_employe_8dd093_idx" in indexes_before

    # And back: privacy's model reads the same row again.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldConsent = executor.loader.project_state(STATE_BEFORE).apps.get_model("privacy", "Consent")
    assert OldConsent.objects.get(pk=old.pk).text_sha256 == "a" * 64
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
