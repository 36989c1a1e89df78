"""The admin portal's Provisioning (SCIM) page: a token shown once that a directory then uses, rotation without a
gap, revoke, last request and refused changes; admins only, another organization's token is a 404."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from scim.models import ScimToken
from teams.models import Employee
from tenancy.models import Role
from tests.factories import make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db
SCIM_JSON = "application/scim+json"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def scim_page(org) -> str:
    return url_of("portal:admin-scim", org)


def shown_token(response) -> str:
    match = re.search(r'<code id="new-secret">(scim_[^<]+)</code>', response.content.decode())
    assert match, "the token is shown"
    return match.group(1)


def provision(token: str, user_name: str, **extra):
    document = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
                "name": {"givenName": "Ada", "familyName": "Lovelace"}, "emails": [{"value": user_name,
                                                                                    "primary": True}], **extra}
    return Client().post(url_of("scim:users"), json.dumps(document), content_type=SCIM_JSON,
                         HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_directory_provisions_an_employee_with_a_token_made_in_the_portal(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    page = client.get(scim_page(org_a)).content.decode()
    assert 'id="scim-base-url">http://testserver/scim/v2/</code>' in page and "Okta" in page and "Entra" in page
    token = shown_token(client.post(scim_page(org_a), {"name": "Okta"}))
    assert provision(token, "ada@acme.example").status_code == 201
    assert Employee.objects.get(organization=org_a).email == "ada@acme.example"
    page = client.get(scim_page(org_a)).content.decode()
    assert token not in page and "Last change from your directory" in page
    assert 'class="token-last-used">Never' not in page


def test_a_refused_change_shows_in_recent_errors(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    token = shown_token(client.post(scim_page(org_a), {"name": "Entra"}))
    assert provision(token, "not an email", emails=[]).status_code == 400
    page = client.get(scim_page(org_a)).content.decode()
    assert 'class="scim-error"' in page and "HTTP 400" in page


def test_rotation_keeps_the_old_token_until_it_is_revoked(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    old = shown_token(client.post(scim_page(org_a), {"name": "Okta"}))
    old_row = ScimToken.objects.get(organization=org_a)
    new = shown_token(client.post(f"{scim_page(org_a)}tokens/{old_row.pk}", {"action": "rotate"}))
    assert provision(old, "a@acme.example").status_code == 201
    assert provision(new, "b@acme.example").status_code == 201
    client.post(f"{scim_page(org_a)}tokens/{old_row.pk}", {"action": "revoke"})
    assert provision(old, "c@acme.example").status_code == 401
    assert provision(new, "d@acme.example").status_code == 201


def test_another_organizations_token_is_404_and_keeps_working(org_a, org_b):
    theirs = shown_token(signed_in(make_user(org_b, Role.ADMIN)).post(scim_page(org_b), {"name": "Theirs"}))
    their_row = ScimToken.objects.get(organization=org_b)
    client = signed_in(make_user(org_a, Role.OWNER))
    for action in ("revoke", "rotate"):
        assert client.post(f"{scim_page(org_a)}tokens/{their_row.pk}", {"action": action}).status_code == 404
    assert their_row.prefix not in client.get(scim_page(org_a)).content.decode()
    assert ScimToken.objects.filter(organization=org_b).count() == 1
    assert provision(theirs, "x@globex.example").status_code == 201


def test_only_the_organizations_admins_manage_tokens(org_a, org_b):
    assert Client().get(scim_page(org_a)).status_code == 302
    assert signed_in(make_user(org_a, Role.EMPLOYEE)).post(scim_page(org_a), {"name": "x"}).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(scim_page(org_a), {"name": "x"}).status_code == 404
    assert not ScimToken.objects.exists()
