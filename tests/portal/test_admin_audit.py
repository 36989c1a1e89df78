"""The admin portal's audit log: filter by actor, action, object and date, page through, download the CSV of the same
filter; only the organization's own events, admins only."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from tenancy.models import Role
from tests.factories import make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def audit_page(org) -> str:
    return url_of("portal:admin-audit", org)


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def history(org_a, org_b):
    admin = make_user(org_a, Role.ADMIN, "admin@acme.example")
    colleague = make_user(org_a, Role.ADMIN, "co@acme.example")
    record(action="employee.created", organization=org_a, actor=admin, object=("employee", 7))
    record(action="employee.updated", organization=org_a, actor=colleague, object=("employee", 7))
    record(action="brand_kit.created", organization=org_a, actor=admin, object=("brand_kit", 3))
    record(action="employee.created", organization=org_b, actor=make_user(org_b, Role.ADMIN), object=("employee", 9))
    return admin, colleague


def test_filters_narrow_the_log_and_the_csv_holds_the_same_events(org_a, history):
    admin, colleague = history
    client = signed_in(admin)
    page = client.get(audit_page(org_a), {"actor": f"user:{admin.pk}", "action": "employee."}).content.decode()
    assert page.count('class="audit-event"') == 1 and "employee.created" in page and "admin@acme.example" in page
    rows = csv_rows(client.get(url_of("portal:admin-audit-csv", org_a),
                               {"actor": f"user:{admin.pk}", "action": "employee."}))
    assert [(r["action"], r["actor_id"], r["object_id"]) for r in rows] == [("employee.created", str(admin.pk), "7")]
    by_object = client.get(audit_page(org_a), {"object_type": "employee", "object_id": "7"}).content.decode()
    assert by_object.count('class="audit-event"') == 2


def test_dates_filter_whole_days_and_a_reversed_range_is_refused(org_a, history):
    client = signed_in(history[0])
    today = timezone.now().date()
    assert client.get(audit_page(org_a), {"since": today, "until": today}).content.decode() \
        .count('data-action="employee.') == 2
    assert "No event matches" in client.get(audit_page(org_a), {"until": today - timedelta(days=1)}).content.decode()
    refused = client.get(audit_page(org_a), {"since": today, "until": today - timedelta(days=2)})
    assert refused.status_code == 400 and "must not be before" in refused.content.decode()
    assert client.get(audit_page(org_a), {"since": "yesterday"}).status_code == 400


def test_the_log_pages_through_many_events(org_a, history):
    for n in range(60):
        record(action="selfie.viewed", organization=org_a, actor="system", object=("selfie", n))
    client = signed_in(history[0])
    first = client.get(audit_page(org_a), {"action": "selfie."}).content.decode()
    assert first.count('class="audit-event"') == 50 and "Page 1 of 2" in first
    second = client.get(audit_page(org_a), {"action": "selfie.", "page": 2}).content.decode()
    assert second.count('class="audit-event"') == 10


def test_another_organizations_events_never_show(org_a, org_b, history):
    client = signed_in(history[0])
    rows = csv_rows(client.get(url_of("portal:admin-audit-csv", org_a)))
    assert {r["object_id"] for r in rows if r["object_type"] == "employee"} == {"7"}
    assert AuditEvent.objects.filter(organization_id=org_b.pk, action="employee.created").exists()


def test_only_the_organizations_admins_read_the_log(org_a, org_b, history):
    for url in (audit_page(org_a), url_of("portal:admin-audit-csv", org_a)):
        assert Client().get(url).status_code == 302
        assert signed_in(make_user(org_a, Role.EMPLOYEE)).get(url).status_code == 403
        assert signed_in(make_user(org_b, Role.OWNER)).get(url).status_code == 404
