"""Employee changes: deactivation ends access, and every change is announced once it is committed."""
from __future__ import annotations

import pytest

from teams.employees import employee_update
from teams.models import Employee
from teams.signals import employee_changed, employee_deleted
from tenancy.models import Membership
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events():
    seen = []

    def on_change(sender, **kw):
        seen.append(("changed", kw["employee"].pk, kw["created"], sorted(kw["fields"])))

    def on_delete(sender, **kw):
        seen.append(("deleted", kw["employee_id"], kw["email"]))

    employee_changed.connect(on_change, weak=False)
    employee_deleted.connect(on_delete, weak=False)
    yield seen
    employee_changed.disconnect(on_change)
    employee_deleted.disconnect(on_delete)


def test_an_admin_deactivating_an_employee_ends_their_access_and_announces_it(tenant_a, events):
    employee_client = client_for(tenant_a.employee_user)
    assert employee_client.get(tenant_url("me", tenant_a.org)).status_code == 200

    response = client_for(tenant_a.admin).patch(
        tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk), {"active": False}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["active"] is False and response.json()["deactivated_at"]
    assert not Membership.objects.filter(organization=tenant_a.org, user=tenant_a.employee_user).exists()
    assert employee_client.get(tenant_url("me", tenant_a.org)).status_code in (401, 404)
    assert ("changed", tenant_a.employee.pk, False, ["active"]) in events


def test_an_unchanged_update_announces_nothing_and_a_duplicate_email_is_refused(tenant_a, events):
    employee_update(employee=tenant_a.employee, name=tenant_a.employee.name)
    assert events == []
    other = Employee.objects.create(organization=tenant_a.org, name="Other", email="other@example.com")
    response = client_for(tenant_a.admin).patch(
        tenant_url("employee-detail", tenant_a.org, other.pk), {"external_id": "E-1"}, format="json")
    assert response.status_code == 200
    clash = client_for(tenant_a.admin).patch(
        tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk), {"external_id": "E-1"},
        format="json")
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate_external_id"


def test_deleting_an_employee_announces_who_was_deleted(tenant_a, events):
    response = client_for(tenant_a.admin).delete(
        tenant_url("employee-detail", tenant_a.org, tenant_a.employee.pk))
    assert response.status_code == 204
    assert ("deleted", tenant_a.employee.pk, tenant_a.employee.email) in events
