"""The admin portal's API keys page: a key is shown once and the pull API accepts it; rotate with a grace period,
revoke, last used; admins of the organization only, and another organization's key is a 404."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from integrations.models import ApiKey
from tenancy.models import Role
from tests.factories import make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db
PULL = url_of("integrations:directory-employees")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def keys_url(org) -> str:
    return url_of("portal:admin-api-keys", org)


def key_url(org, api_key) -> str:
    return url_of("portal:admin-api-key-action", org, api_key.pk)


def shown_key(response) -> str:
    match = re.search(r'<code id="new-secret">(hs_live_\w+)</code>', response.content.decode())
    assert match, "the new key is shown"
    return match.group(1)


def pull(key: str):
    return Client().get(PULL, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_created_key_is_shown_once_and_the_pull_api_accepts_it(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    created = client.post(keys_url(org_a), {"name": "Workday", "scopes": ["employees:read"]})
    assert created.status_code == 201
    key = shown_key(created)
    assert pull(key).status_code == 200
    page = client.get(keys_url(org_a)).content.decode()
    assert key not in page and key[:20] in page  # only the prefix, ever again
    assert 'class="key-last-used">Never' not in page  # the pull above was recorded


def test_rotating_with_a_grace_period_keeps_the_old_key_working_until_then(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    old = shown_key(client.post(keys_url(org_a), {"name": "Workday", "scopes": ["employees:read"]}))
    api_key = ApiKey.objects.get(organization=org_a)
    rotated = client.post(key_url(org_a, api_key), {"action": "rotate", "grace_seconds": 3600})
    new = shown_key(rotated)
    assert new != old and pull(new).status_code == 200 and pull(old).status_code == 200
    assert "Rotating: works until" in client.get(keys_url(org_a)).content.decode()
    client.post(key_url(org_a, api_key), {"action": "revoke"})
    assert pull(old).status_code == 401 and pull(new).status_code == 200


def test_bad_input_is_refused_with_its_reason(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    response = client.post(keys_url(org_a), {"name": "Workday", "scopes": ["everything:write"]})
    assert response.status_code == 400 and "not one of the available choices" in response.content.decode()
    assert client.post(keys_url(org_a), {"name": "", "scopes": []}).status_code == 400
    shown_key(client.post(keys_url(org_a), {"name": "Workday", "scopes": ["employees:read"]}))
    api_key = ApiKey.objects.get(organization=org_a)
    client.post(key_url(org_a, api_key), {"action": "rotate", "grace_seconds": "forever"})
    assert "grace_seconds must be a whole number" in client.get(keys_url(org_a)).content.decode()
    assert ApiKey.objects.filter(organization=org_a).count() == 1
    assert not ApiKey.objects.get().revoked_at


def test_another_organizations_key_is_404_and_untouched(org_a, org_b):
    theirs = shown_key(signed_in(make_user(org_b, Role.ADMIN)).post(
        keys_url(org_b), {"name": "Theirs", "scopes": ["employees:read"]}))
    their_key = ApiKey.objects.get(organization=org_b)
    client = signed_in(make_user(org_a, Role.OWNER))
    for action in ("revoke", "rotate"):
        assert client.post(key_url(org_a, their_key), {"action": action}).status_code == 404
    assert theirs[:20] not in client.get(keys_url(org_a)).content.decode()
    assert pull(theirs).status_code == 200 and ApiKey.objects.filter(organization=org_b).count() == 1


def test_only_the_organizations_admins_manage_keys(org_a, org_b):
    form = {"name": "Sneaky", "scopes": ["employees:read"]}
    assert Client().get(keys_url(org_a)).status_code == 302
    assert signed_in(make_user(org_a, Role.EMPLOYEE)).post(keys_url(org_a), form).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(keys_url(org_a), form).status_code == 404
    assert not ApiKey.objects.exists()
