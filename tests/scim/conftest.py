"""SCIM test helpers: an organization with a token, and a client that speaks SCIM to /scim/v2/."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from scim.services import scim_token_create
from tenancy.models import Role
from tests.factories import make_org, make_user

BASE = "/scim/v2"
SCIM_JSON = "application/scim+json"


class ScimClient:
    """Django's test client with the bearer token and SCIM media type on every request."""

    def __init__(self, secret: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def _call(self, method: str, path: str, body=None, content_type: str = SCIM_JSON, **headers):
        url = path if path.startswith("/") else f"{BASE}/{path}"
        data = json.dumps(body) if body is not None else None
        kwargs = {"content_type": content_type} if data is not None else {}
        return getattr(self.client, method)(url, data, headers={**self.headers, **headers}, **kwargs)

    def get(self, path, **headers):
        return self.client.get(path if path.startswith("/") else f"{BASE}/{path}", headers={**self.headers, **headers})

    def post(self, path, body, **kw):
        return self._call("post", path, body, **kw)

    def put(self, path, body, **kw):
        return self._call("put", path, body, **kw)

    def patch(self, path, body, **kw):
        return self._call("patch", path, body, **kw)

    def delete(self, path, **headers):
        return self._call("delete", path, **headers)


class ScimOrg:
    def __init__(self, name: str):
        self.org = make_org(name)
        self.admin = make_user(self.org, Role.ADMIN)
        self.token, self.secret = scim_token_create(organization=self.org, created_by=self.admin, name="Entra ID")
        self.client = ScimClient(self.secret)


@pytest.fixture
def acme(db) -> ScimOrg:
    return ScimOrg("Acme")


@pytest.fixture
def globex(db) -> ScimOrg:
    return ScimOrg("Globex")


def patch_op(*operations: dict) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(operations)}


def new_user(user_name: str = "ada@acme.example", **extra) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": user_name, "type": "work", "primary": True}], "active": True, **extra}
