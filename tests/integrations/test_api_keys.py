"""API keys: admins create, list, rotate and revoke them; the pull API accepts only live keys with the right scope."""
from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiKey
from tenancy.models import Role
from tests.factories import client_for, make_org, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db
DIRECTORY = url_of("integrations:directory-employees")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


def create_key(admin, org, scopes=("employees:read", "headshots:read"), **extra) -> dict:
    response = client_for(admin).post(tenant_url("api-key-list", org),
                                      {"name": "Workday sync", "scopes": list(scopes), **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(admin, org_a):
    created = create_key(admin, org_a)
    key = created["key"]
    assert key.startswith("hs_live_") and len(key) == 60
    assert key.startswith(created["prefix"]) and len(created["prefix"]) == 20
    assert created["scopes"] == ["employees:read", "headshots:read"]
    assert created["status"] == "active" and created["created_by"] == admin.email

    stored = ApiKey.objects.get(pk=created["id"])
    assert stored.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiKey.objects.filter(pk=stored.pk).values().get())

    listed = client_for(admin).get(tenant_url("api-key-list", org_a)).json()["results"]
    detail = client_for(admin).get(tenant_url("api-key-detail", org_a, stored.pk)).json()
    for shown in (listed[0], detail):
        assert shown["prefix"] == created["prefix"]
        assert "key" not in shown and "secret_hash" not in shown
    assert key.encode() not in client_for(admin).get(tenant_url("api-key-list", org_a)).content


def test_a_live_key_reads_the_directory_and_records_when_it_was_used(admin, org_a):
    created = create_key(admin, org_a)
    response = bearer(created["key"]).get(DIRECTORY)
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=created["id"]).last_used_at is not None


@pytest.mark.parametrize("header,message", [
    (None, "Authentication credentials were not provided."),
    ("Bearer hs_live_" + "x" * 52, "Invalid API key."),
    ("Bearer not-a-key", "Invalid API key."),
    ("Bearer", "Invalid Authorization header"),
    ("Token abc", "Send the API key as 'Authorization: Bearer hs_live_...'."),
])
def test_missing_or_unknown_keys_get_401_with_a_clear_message(header, message, admin, org_a):
    create_key(admin, org_a)
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(DIRECTORY)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"].startswith(message)


def test_a_key_with_a_right_prefix_but_wrong_secret_is_refused(admin, org_a):
    key = create_key(admin, org_a)["key"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert bearer(tampered).get(DIRECTORY).status_code == 401
    assert bearer(key).get(DIRECTORY).status_code == 200


def test_a_revoked_key_gets_401_saying_so(admin, org_a):
    created = create_key(admin, org_a)
    assert client_for(admin).delete(tenant_url("api-key-detail", org_a, created["id"])).status_code == 204
    response = bearer(created["key"]).get(DIRECTORY)
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key has been revoked.", "code": "api_key_revoked"}
    assert client_for(admin).get(tenant_url("api-key-detail", org_a, created["id"])).json()["status"] == "revoked"
    # Revoking again changes nothing.
    revoked_at = ApiKey.objects.get(pk=created["id"]).revoked_at
    assert client_for(admin).delete(tenant_url("api-key-detail", org_a, created["id"])).status_code == 204
    assert ApiKey.objects.get(pk=created["id"]).revoked_at == revoked_at


def test_an_expired_key_gets_401_saying_so(admin, org_a):
    created = create_key(admin, org_a, expires_at=(timezone.now() + timedelta(days=30)).isoformat())
    assert bearer(created["key"]).get(DIRECTORY).status_code == 200
    ApiKey.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(created["key"]).get(DIRECTORY)
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key has expired."


def test_rotation_replaces_the_key_at_once_by_default(admin, org_a):
    old = create_key(admin, org_a, scopes=["employees:read"])
    rotated = client_for(admin).post(tenant_url("api-key-rotate", org_a, old["id"]), {}, format="json")
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["key"] != old["key"] and new["rotated_from"] == old["id"]
    assert new["name"] == old["name"] and new["scopes"] == ["employees:read"]
    assert bearer(old["key"]).get(DIRECTORY).status_code == 401
    assert bearer(new["key"]).get(DIRECTORY).status_code == 200
    # The old key can't be rotated a second time; its replacement can.
    again = client_for(admin).post(tenant_url("api-key-rotate", org_a, old["id"]), {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "key_revoked"


def test_rotation_with_a_grace_period_keeps_the_old_key_working_until_it_ends(admin, org_a):
    old = create_key(admin, org_a)
    rotate = tenant_url("api-key-rotate", org_a, old["id"])
    new = client_for(admin).post(rotate, {"grace_seconds": 1}, format="json").json()
    assert client_for(admin).get(tenant_url("api-key-detail", org_a, old["id"])).json()["status"] == "rotating"
    assert bearer(old["key"]).get(DIRECTORY).status_code == 200
    assert bearer(new["key"]).get(DIRECTORY).status_code == 200
    time.sleep(1.1)
    assert bearer(old["key"]).get(DIRECTORY).status_code == 401
    assert bearer(new["key"]).get(DIRECTORY).status_code == 200


def test_rotation_grace_is_bounded(admin, org_a, settings):
    settings.API_KEY_ROTATION_MAX_GRACE_SECONDS = 3600
    old = create_key(admin, org_a)
    rotate = tenant_url("api-key-rotate", org_a, old["id"])
    response = client_for(admin).post(rotate, {"grace_seconds": 3601}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_grace"
    assert bearer(old["key"]).get(DIRECTORY).status_code == 200


def test_a_key_without_the_endpoints_scope_gets_403_naming_it(admin, org_a):
    from tests.factories import make_employee

    make_employee(org_a, external_id="E-1")
    key = create_key(admin, org_a, scopes=["headshots:read"])["key"]
    response = bearer(key).get(DIRECTORY)
    assert response.status_code == 403
    assert response.json() == {"detail": "This API key lacks the scope employees:read.", "code": "missing_scope"}

    key = create_key(admin, org_a, scopes=["employees:read"])["key"]
    response = bearer(key).get(f"{DIRECTORY}/E-1/headshot")
    assert response.status_code == 403
    assert response.json()["detail"] == "This API key lacks the scope headshots:read."


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "scopes": []}, "scopes"),
    ({"name": "x", "scopes": ["everything"]}, "scopes"),
    ({"name": "", "scopes": ["employees:read"]}, "name"),
    ({"name": "x", "scopes": ["employees:read"], "expires_at": "yesterday"}, "expires_at"),
])
def test_bad_key_requests_get_400_naming_the_field(body, field, admin, org_a):
    response = client_for(admin).post(tenant_url("api-key-list", org_a), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ApiKey.objects.exists()


def test_a_key_cannot_expire_in_the_past(admin, org_a):
    response = client_for(admin).post(tenant_url("api-key-list", org_a), {"name": "x", "scopes": ["employees:read"],
                                                        "expires_at": "2020-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_expiry"


def test_keys_belong_to_one_organization(admin, org_a):
    other = make_org("Other")
    other_admin = make_user(other, Role.ADMIN)
    mine = create_key(admin, org_a)
    assert client_for(other_admin).get(tenant_url("api-key-list", other)).json()["results"] == []
    assert client_for(other_admin).delete(tenant_url("api-key-detail", other, mine["id"])).status_code == 404
    rotate = tenant_url("api-key-rotate", other, mine["id"])
    assert client_for(other_admin).post(rotate, {}, format="json").status_code == 404
    assert bearer(mine["key"]).get(DIRECTORY).status_code == 200
