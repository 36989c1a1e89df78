"""Each organization decides how many accepted selfies make a set (default 8 of at most 15)."""
from __future__ import annotations

import pytest

from teams.errors import TeamsError
from teams.generation_requests import generation_request_start
from tenancy.models import Role
from tests.factories import client_for, grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


def test_new_organizations_need_8_of_at_most_15_selfies(org_a):
    admin = make_user(org_a, Role.ADMIN)
    body = client_for(admin).get(tenant_url("organization-settings", org_a)).json()
    assert (body["selfies_required"], body["selfies_max"]) == (8, 15)


def test_admin_changes_the_bounds_within_limits(org_a):
    client = client_for(make_user(org_a, Role.ADMIN))
    url = tenant_url("organization-settings", org_a)
    assert client.patch(url, {"selfies_required": 10}, format="json").json()["selfies_required"] == 10
    refused = client.patch(url, {"selfies_required": 12, "selfies_max": 11}, format="json")
    assert refused.status_code == 400
    assert "required <= max" in refused.json()["detail"]
    org_a.refresh_from_db()
    assert (org_a.selfies_required, org_a.selfies_max) == (10, 15)


def test_generation_waits_for_a_complete_set(org_a):
    user = make_user(org_a, Role.EMPLOYEE)
    employee = make_employee(org_a, user)
    grant_consent(employee)
    make_brand_kit(org_a)
    with pytest.raises(TeamsError) as refused:
        generation_request_start(employee=employee, created_by=user)
    assert refused.value.code == "not_enough_selfies"
    assert "at least 8" in refused.value.message
