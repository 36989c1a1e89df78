"""The admin API for SCIM tokens: the secret is shown once, stored hashed, and revocation takes effect at once."""
from __future__ import annotations

import pytest

from scim.models import ScimToken, hash_secret
from tenancy.models import Role
from tests.factories import client_for, make_org, make_user
from tests.urls import tenant_url

from .conftest import ScimClient

pytestmark = pytest.mark.django_db


def test_admin_creates_lists_and_revokes_a_token():
    org = make_org("Acme")
    admin = make_user(org, Role.ADMIN)
    api = client_for(admin)
    created = api.post(tenant_url("scim-token-list", org), {"name": "Entra ID"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["token"]
    assert secret.startswith("scim_") and body["prefix"] == secret[:12] and body["created_by"] == admin.email
    assert body["scim_base_url"] == "http://testserver/scim/v2"
    token = ScimToken.objects.get(pk=body["id"])
    assert token.secret_hash == hash_secret(secret) and secret not in str(token.__dict__)

    listed = api.get(tenant_url("scim-token-list", org)).json()["results"]
    assert [t["id"] for t in listed] == [token.pk] and "token" not in listed[0]

    assert ScimClient(secret).get("Users").status_code == 200
    assert api.delete(tenant_url("scim-token-detail", org, token.pk)).status_code == 204
    assert ScimClient(secret).get("Users").status_code == 401
    assert api.get(tenant_url("scim-token-list", org)).json()["results"][0]["revoked_at"]


def test_employees_cannot_manage_tokens():
    org = make_org("Acme")
    employee = make_user(org, Role.EMPLOYEE)
    assert client_for(employee).post(tenant_url("scim-token-list", org), {}, format="json").status_code == 403
    assert not ScimToken.objects.exists()
