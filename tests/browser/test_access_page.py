"""The admin portal's Access page in a real browser, at desktop and phone size: an owner grants admin to a colleague
and claims a domain whose DNS record the page shows. Audited with axe-core and photographed."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenancy.models import Membership, OrganizationDomain, Role
from tests.factories import make_org, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def company(live_server):
    org = make_org("Initech")
    owner = make_user(org, Role.OWNER, email="owner@initech.example")
    make_user(org, Role.EMPLOYEE, email="colleague@initech.example")
    return org, owner


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_owner_grants_admin_and_claims_a_domain(request, size, login_as, audit, company):
    page = request.getfixturevalue(f"{size}_page")
    org, owner = company
    login_as(page, owner)
    page.goto(url_of("portal:admin-access", org))
    row = page.locator("tr.member", has_text="colleague@initech.example")
    row.get_by_label("Role of colleague@initech.example").select_option("admin")
    row.get_by_role("button", name="Save role").click()
    expect(page.get_by_text("colleague@initech.example's role is saved.")).to_be_visible()
    assert Membership.objects.get(organization=org, user__email="colleague@initech.example").role == Role.ADMIN
    page.get_by_role("textbox", name="Domain", exact=True).fill("initech.example")
    page.get_by_role("button", name="Add domain").click()
    claim = OrganizationDomain.objects.get(organization=org)
    domain = page.locator("li.domain", has_text="initech.example")
    expect(domain.get_by_text("Waiting for proof")).to_be_visible()
    expect(domain.get_by_text(f"headshots-domain-verification={claim.token}")).to_be_visible()
    audit(page, "admin-access")
