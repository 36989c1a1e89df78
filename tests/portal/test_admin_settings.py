"""The admin portal's Settings area and its Organization page; an owner or admin lands on the admin dashboard."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from tenancy.models import Organization, Role
from tests.factories import make_employee, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def org_settings(org) -> str:
    return url_of("portal:admin-settings-organization", org)


def test_an_admin_changes_retention_and_the_public_privacy_page_says_so(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    saved = client.post(org_settings(org_a), {"name": "Acme Corp", "selfies_required": 4, "selfies_max": 12,
                                               "biometric_retention_days": 45})
    assert saved.status_code == 302
    org = Organization.objects.get(pk=org_a.pk)
    assert (org.name, org.selfies_required, org.selfies_max, org.biometric_retention_days) == ("Acme Corp", 4, 12, 45)
    page = client.get(org_settings(org_a)).content.decode()
    assert f'href="{url_of("privacy:notice", org_a)}"' in page and "45 days after a headshot is approved" in page
    assert "45 days after your headshot is approved" in Client().get(url_of("privacy:notice", org_a)).content.decode()


@pytest.mark.parametrize("fields, message", [
    ({"biometric_retention_days": 2000}, "less than or equal to 1095"),
    ({"selfies_required": 9, "selfies_max": 4}, "1 &lt;= required &lt;= max"),
    ({"name": "   "}, "This field is required"),
])
def test_bad_settings_are_refused_with_their_reason_and_nothing_changes(org_a, fields, message):
    before = Organization.objects.get(pk=org_a.pk)
    form = {"name": "Acme", "selfies_required": 3, "selfies_max": 10, "biometric_retention_days": 30, **fields}
    response = signed_in(make_user(org_a, Role.ADMIN)).post(org_settings(org_a), form)
    assert response.status_code == 400 and message in response.content.decode()
    after = Organization.objects.get(pk=org_a.pk)
    assert (after.name, after.biometric_retention_days, after.selfies_required) == \
        (before.name, before.biometric_retention_days, before.selfies_required)


def test_only_the_organizations_admins_reach_the_settings_pages(org_a, org_b):
    form = {"name": "Owned", "selfies_required": 1, "selfies_max": 2, "biometric_retention_days": 1}
    for url in (url_of("portal:admin-settings", org_a), org_settings(org_a)):
        assert Client().get(url).status_code == 302
        assert signed_in(make_user(org_a, Role.EMPLOYEE)).get(url).status_code == 403
        assert signed_in(make_user(org_b, Role.OWNER)).get(url).status_code == 404
    assert signed_in(make_user(org_a, Role.EMPLOYEE)).post(org_settings(org_a), form).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(org_settings(org_a), form).status_code == 404
    assert Organization.objects.get(pk=org_a.pk).name == "Acme"


def test_the_settings_area_lists_its_pages_and_marks_the_current_one(org_a):
    client = signed_in(make_user(org_a, Role.OWNER))
    index = client.get(url_of("portal:admin-settings", org_a)).content.decode()
    assert "Organization" in index and "People and roles" in index
    access = client.get(url_of("portal:admin-access", org_a)).content.decode()
    assert f'href="{url_of("portal:admin-access", org_a)}" aria-current="page">People and roles' in access


def test_an_owner_without_an_employee_profile_lands_on_the_admin_dashboard(org_a):
    client = signed_in(make_user(org_a, Role.OWNER))
    assert client.get(url_of("portal:orgs"))["Location"] == url_of("portal:admin-dashboard", org_a)
    assert client.get(url_of("portal:home", org_a))["Location"] == url_of("portal:admin-dashboard", org_a)


def test_an_employee_still_lands_on_their_own_portal(org_a):
    user = make_user(org_a, Role.EMPLOYEE)
    make_employee(org_a, user)
    assert signed_in(user).get(url_of("portal:orgs"))["Location"] == url_of("portal:home", org_a)


def test_people_and_roles_shows_each_persons_real_state(org_a):
    from teams.invites import employee_invite_send, employee_invites_revoke

    owner = make_user(org_a, Role.OWNER)
    joined = make_employee(org_a, make_user(org_a, Role.EMPLOYEE, email="joined@acme.example"), name="Jo Joined")
    make_employee(org_a, name="Nev Never", email="never@acme.example")
    employee_invite_send(employee=make_employee(org_a, name="Ivy Invited", email="invited@acme.example"),
                         invited_by=owner)
    lapsed = make_employee(org_a, name="Rex Revoked", email="revoked@acme.example")
    employee_invite_send(employee=lapsed, invited_by=owner)
    employee_invites_revoke(employee=lapsed)
    gone = make_employee(org_a, name="Dee Deactivated", email="gone@acme.example")
    gone.active = False
    gone.save(update_fields=["active"])

    html = signed_in(owner).get(url_of("portal:admin-access", org_a)).content.decode()

    def state_of(email: str) -> str:
        # The row of that person, then its state cell (class member-state or person-state).
        return re.search(rf'data-email="{re.escape(email)}".*?class="(?:member|person)-state"[^>]*>([^<]+)<', html,
                         re.S).group(1)

    assert state_of(joined.email) == "Joined"
    assert state_of("never@acme.example") == "Never invited"
    assert state_of("invited@acme.example") == "Invited"
    assert state_of("revoked@acme.example") == "Invite expired or revoked"
    assert state_of("gone@acme.example") == "Deactivated"
