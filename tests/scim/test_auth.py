"""Bearer tokens: the token alone identifies the organization; anything else gets a SCIM 401."""
from __future__ import annotations

import pytest

from scim.services import scim_token_revoke
from tests.factories import make_employee

from .conftest import ScimClient, new_user

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type
    return body


@pytest.mark.parametrize("secret", [None, "", "scim_wrong", "not-even-our-format"])
def test_missing_or_wrong_token_gets_401_in_scim_shape(acme, secret):
    make_employee(acme.org, email="ada@acme.example")
    for path in ("Users", "Users?filter=userName eq \"ada@acme.example\"", "Groups"):
        response = ScimClient(secret).get(path)
        assert_scim_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"ada@acme.example" not in response.content


def test_other_authorization_schemes_are_refused(acme):
    client = ScimClient(None)
    client.headers = {"Authorization": f"Token {acme.secret}"}
    assert_scim_error(client.get("Users"), 401)


def test_revoked_token_gets_401_and_a_fresh_one_works(acme):
    assert acme.client.get("Users").status_code == 200
    scim_token_revoke(token=acme.token)
    assert_scim_error(acme.client.get("Users"), 401)
    assert_scim_error(acme.client.post("Users", new_user()), 401)


def test_token_use_is_recorded(acme):
    assert acme.token.last_used_at is None
    acme.client.get("Users")
    acme.token.refresh_from_db()
    assert acme.token.last_used_at is not None


def test_a_token_sees_only_its_own_organization(acme, globex):
    ada = make_employee(acme.org, email="ada@acme.example")
    make_employee(globex.org, email="gus@globex.example")
    listed = globex.client.get("Users").json()
    assert [r["userName"] for r in listed["Resources"]] == ["gus@globex.example"]
    # Acme's user by id, filter, PUT, PATCH and DELETE through Globex's token: 404 / nothing found, nothing changed.
    assert_scim_error(globex.client.get(f"Users/{ada.pk}"), 404)
    assert globex.client.get('Users?filter=userName eq "ada@acme.example"').json()["totalResults"] == 0
    assert_scim_error(globex.client.put(f"Users/{ada.pk}", new_user("x@globex.example")), 404)
    assert_scim_error(globex.client.patch(f"Users/{ada.pk}", {"Operations": [
        {"op": "replace", "path": "active", "value": False}]}), 404)
    assert_scim_error(globex.client.delete(f"Users/{ada.pk}"), 404)
    ada.refresh_from_db()
    assert ada.active and ada.email == "ada@acme.example"


def test_a_user_created_with_one_token_lands_in_that_organization(acme, globex):
    response = globex.client.post("Users", new_user("new@globex.example"))
    assert response.status_code == 201
    assert acme.client.get(f"Users/{response.json()['id']}").status_code == 404
    assert acme.client.get("Users").json()["totalResults"] == 0


def test_discovery_needs_no_token_but_refuses_a_bad_one(db):
    assert ScimClient(None).get("ServiceProviderConfig").status_code == 200
    assert_scim_error(ScimClient("scim_wrong").get("ServiceProviderConfig"), 401)
