"""Admins read their own organization's log through the API: filters, newest first, pages, and a streamed CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db

# Each tenant's set-up issued an API key and a SCIM token: logged with them, newest first.
SET_UP = ["scim_token.created", "api_key.created"]


@pytest.fixture
def logged(tenant_a, tenant_b):
    """A few events of A (oldest first), one of B, one site-level."""
    a, b = tenant_a.org, tenant_b.org
    made = [
        record(action="employee.created", organization=a, actor=tenant_a.admin, object=("employee", 1)),
        record(action="employee.updated", organization=a, actor=tenant_a.admin, object=("employee", 1),
               detail={"fields": ["title"]}),
        record(action="selfie.viewed", organization=a, actor=tenant_a.employee_user, object=("selfie", 9)),
        record(action="biometric.read", organization=a, actor="system", object=("employee", 1)),
        record(action="employee.updated", organization=b, actor=tenant_b.admin, object=("employee", 2)),
        record(action="http.post", actor="system"),
    ]
    assert all(made)
    return tenant_a


def listing(tenant, **params):
    response = client_for(tenant.admin).get(tenant_url("audit-event-list", tenant.org), params)
    assert response.status_code == 200, response.content
    return response.json()


def test_admins_see_only_their_organizations_events_newest_first(logged, tenant_b):
    page = listing(logged)
    assert page["count"] == 4 + len(SET_UP)
    assert [e["action"] for e in page["results"]] == [
        "biometric.read", "selfie.viewed", "employee.updated", "employee.created", *SET_UP]
    assert [e["action"] for e in listing(tenant_b)["results"]] == ["employee.updated", *SET_UP]


def test_filters_narrow_the_list(logged):
    assert [e["action"] for e in listing(logged, action="employee.")["results"]] == [
        "employee.updated", "employee.created"]
    assert listing(logged, actor_type="system")["count"] == 1
    assert listing(logged, actor_type="user", actor_id=str(logged.employee_user.pk))["results"][0]["object_id"] == "9"
    assert listing(logged, object_type="employee", object_id="1")["count"] == 3
    assert listing(logged, object_type="selfie")["count"] == 1


def test_time_window_filters(logged):
    newest = AuditEvent.objects.for_organization(logged.org).order_by("-id").first()
    assert listing(logged, since=(newest.at + timedelta(seconds=1)).isoformat())["count"] == 0
    assert listing(logged, since=(newest.at - timedelta(minutes=1)).isoformat())["count"] == 4 + len(SET_UP)
    assert listing(logged, until=(newest.at - timedelta(minutes=1)).isoformat())["count"] == 0


def test_pages_follow_limit_and_offset(logged):
    first, second = listing(logged, limit=4), listing(logged, limit=4, offset=4)
    assert len(first["results"]) == 4 and len(second["results"]) == len(SET_UP)
    assert first["next"] and second["next"] is None


@pytest.mark.parametrize("params,field", [({"actor_type": "robot"}, "actor_type"), ({"since": "yesterday"}, "since"),
                                          ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
                                           "until")])
def test_a_bad_filter_is_a_clear_400(logged, params, field):
    for name in ("audit-event-list", "audit-event-csv"):
        response = client_for(logged.admin).get(tenant_url(name, logged.org), params)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid" and field in response.json()["errors"]


def test_employees_and_outsiders_cannot_read_the_log(logged, tenant_b):
    for name, accept in (("audit-event-list", "application/json"), ("audit-event-csv", "text/csv")):
        url = tenant_url(name, logged.org)
        assert client_for(logged.employee_user).get(url, HTTP_ACCEPT=accept).status_code == 403
        assert client_for(tenant_b.admin).get(url, HTTP_ACCEPT=accept).status_code == 404
        refused = client_for(None).get(url, HTTP_ACCEPT=accept)
        assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"


def test_csv_export_streams_the_filtered_events(logged):
    response = client_for(logged.admin).get(tenant_url("audit-event-csv", logged.org),
                                            {"action": "employee."}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["action"], r["object_type"], r["object_id"], r["actor_id"]) for r in rows] == [
        ("employee.updated", "employee", "1", str(logged.admin.pk)),
        ("employee.created", "employee", "1", str(logged.admin.pk))]
    assert rows[0]["detail"] == '{"fields": ["title"]}'
    assert rows[0]["actor_type"] == "user" and timezone.datetime.fromisoformat(rows[0]["at"])


def test_csv_cells_never_start_a_spreadsheet_formula(tenant_a):
    record(action="=HYPERLINK(\"http://evil\")", organization=tenant_a.org, actor="system")
    response = client_for(tenant_a.admin).get(tenant_url("audit-event-csv", tenant_a.org),
                                              {"action": "=HYPERLINK"})
    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert row["action"].startswith("'=")
