"""Every state change over HTTP leaves one event: who, in which organization, from where, what, and the outcome."""
from __future__ import annotations

import pytest

from audit.models import AuditEvent
from scim.services import scim_token_create
from tests.factories import client_for
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


# Committed for real (as in production): the domain event is written in the change's transaction, the HTTP event
# after the response. The database is then emptied with TRUNCATE, which only the test session may do
# (tests/audit_flush.py).
@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_over_the_api_records_actor_org_ip_status_and_object(tenant_a):
    url = tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk)
    response = client_for(tenant_a.admin).patch(url, {"name": "Renamed Person"}, format="json",
                                                HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    [event] = events(action="http.patch")
    assert (event.actor_type, event.actor_id) == ("user", str(tenant_a.admin.pk))
    assert event.organization_id == tenant_a.org.pk
    assert (event.ip, event.status_code, event.request_id) == ("127.0.0.1", 200, "req-123")
    assert (event.object_type, event.object_id) == ("employee", str(tenant_a.employee.pk))
    assert event.detail == {"route": "api:tenant:employee-detail", "method": "PATCH",
                            "url_ids": {"employee_id": str(tenant_a.employee.pk)}}
    assert response["X-Request-ID"] == "req-123"
    # The domain event, written with the change, carries the same request, and only the names of the changed fields.
    [domain] = events(action="employee.updated")
    assert (domain.actor_type, domain.actor_id, domain.request_id) == ("user", str(tenant_a.admin.pk), "req-123")
    assert domain.detail == {"fields": ["name"]}


def test_reads_are_not_recorded_as_changes(tenant_a):
    admin = client_for(tenant_a.admin)
    before = AuditEvent.objects.count()
    for name, *ids in (("employee-list",), ("employee-detail", tenant_a.employee.pk), ("headshot-list",),
                       ("audit-event-list",)):
        assert admin.get(tenant_url(name, tenant_a.org, *ids)).status_code == 200
    assert admin.head(tenant_url("employee-list", tenant_a.org)).status_code == 200
    assert admin.options(tenant_url("employee-list", tenant_a.org)).status_code == 200
    assert AuditEvent.objects.count() == before


def test_a_refused_change_is_recorded_with_its_status(tenant_a):
    url = tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk)
    assert client_for(tenant_a.employee_user).delete(url).status_code == 403
    assert client_for(None).delete(url).status_code == 401
    employee_try, anonymous_try = events(action="http.delete")
    assert (employee_try.actor_type, employee_try.actor_id, employee_try.status_code) == (
        "user", str(tenant_a.employee_user.pk), 403)
    assert (anonymous_try.actor_type, anonymous_try.actor_id, anonymous_try.status_code) == ("anonymous", "", 401)
    assert {employee_try.organization_id, anonymous_try.organization_id} == {tenant_a.org.pk}


def test_an_outsiders_attempt_stays_out_of_the_targeted_organizations_log(tenant_a, tenant_b):
    url = tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk)
    assert client_for(tenant_b.admin).delete(url).status_code == 404
    [event] = events(action="http.delete")
    assert (event.organization_id, event.actor_id, event.status_code) == (None, str(tenant_b.admin.pk), 404)


def test_a_request_that_reaches_no_view_is_not_recorded(tenant_a):
    before = AuditEvent.objects.count()
    # A path no route matches, on purpose: it has no name to reverse.
    assert client_for(tenant_a.admin).post("/api/v1/orgs/no/such/route", {}).status_code == 404
    assert AuditEvent.objects.count() == before


def test_forwarded_for_is_used_only_behind_a_trusted_proxy(tenant_a, settings):
    url = tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk)
    admin = client_for(tenant_a.admin)
    admin.patch(url, {"title": "A"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    settings.AUDIT_TRUST_X_FORWARDED_FOR = True
    admin.patch(url, {"title": "B"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    admin.patch(url, {"title": "C"}, format="json", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert [e.ip for e in events(action="http.patch")] == ["127.0.0.1", "203.0.113.9", "127.0.0.1"]


def test_a_forged_request_id_is_replaced_by_a_fresh_one(tenant_a):
    url = tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk)
    response = client_for(tenant_a.admin).patch(url, {"title": "A"}, format="json",
                                                HTTP_X_REQUEST_ID="x\nFAKE LOG LINE")
    [event] = events(action="http.patch")
    assert len(event.request_id) == 32 and "\n" not in event.request_id
    assert response["X-Request-ID"] == event.request_id


def test_url_tokens_and_slugs_never_reach_the_log(tenant_a):
    from audit.middleware import url_ids

    assert url_ids({"org_slug": "acme", "token": "s3cr3t", "employee_id": 5, "action": "approve",
                    "external_id": "ada@example.com", "user_id": "9f0e0b5c-1b2a-4c1d-8e9f-0a1b2c3d4e5f",
                    "schema_id": "urn:ietf:params:scim"}) == {
        "employee_id": "5", "action": "approve", "user_id": "9f0e0b5c-1b2a-4c1d-8e9f-0a1b2c3d4e5f"}


def test_a_scim_change_is_recorded_against_the_tokens_organization(tenant_a):
    token, secret = scim_token_create(organization=tenant_a.org, created_by=tenant_a.admin)
    response = client_for(None).post(
        url_of("scim:users"),
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.person@ex.com",
         "emails": [{"value": "new.person@ex.com", "primary": True}], "active": True},
        format="json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
    [event] = events(action="http.post")
    assert (event.actor_type, event.actor_id) == ("scim_token", str(token.pk))
    assert (event.organization_id, event.status_code, event.detail["route"]) == (tenant_a.org.pk, 201, "scim:users")
