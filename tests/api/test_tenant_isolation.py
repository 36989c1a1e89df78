"""Tenant isolation, as a matrix over every tenant endpoint: nobody outside organization A ever sees A's data."""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern

from config.urls import tenant_patterns
from tests.factories import client_for
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


# The matrix runs some 500 tests against the same two populated organizations: they are made once for the module,
# in a transaction rolled back at its end, and each test runs in its own savepoint inside it (the `db` fixture), so
# every test still starts from exactly these rows. Their files live in one media folder for the module.
@pytest.fixture(scope="module")
def _module_tenants(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import transaction
    from django.test import override_settings

    from tests.api.conftest import populate
    from tests.factories import make_org

    media = tmp_path_factory.mktemp("isolation-media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        yield media, populate(make_org("Acme")), populate(make_org("Globex"))
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_root(settings, _module_tenants):
    settings.MEDIA_ROOT = _module_tenants[0]


@pytest.fixture
def tenant_a(_module_tenants, db):
    return _module_tenants[1]


@pytest.fixture
def tenant_b(_module_tenants, db):
    return _module_tenants[2]

METHODS = ("get", "post", "patch", "put", "delete")
# Payloads valid enough to get past parsing, so only the tenant check can stop them.
BODIES = {"post": {"name": "x", "email": "x@example.com", "selected": True, "approved": True}, "patch": {"name": "x"}}


def endpoints() -> list[tuple[str, str, str]]:
    rows = []
    for pattern in tenant_patterns:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback.view_class
        for method in METHODS:
            if hasattr(view, method):
                rows.append((pattern.name, str(pattern.pattern), method))
    return rows


ENDPOINTS = endpoints()


ROUTE_NAMES = {route: name for name, route, _ in ENDPOINTS}


def url_for(route: str, slug: str, ids: dict[str, int]) -> str:
    """The route's URL by its name, reversed with these ids (every parameter must be an <int:...> one of them)."""
    params = dict(reversed(p.split(":", 1)) for p in re.findall(r"<([^>]+)>", route))
    assert all(params[key] == "int" and key in ids for key in params), \
        f"{route}: add its URL parameter to Tenant.ids() so the isolation matrix covers it"
    return tenant_url(ROUTE_NAMES[route], slug, **{key: ids[key] for key in params})


def body(response) -> bytes:
    # Exports stream (and store the manifest uncompressed), so a byte search sees their rows too.
    return b"".join(response.streaming_content) if response.streaming else response.content


def call(client, method: str, url: str):
    if method in BODIES:
        return getattr(client, method)(url, BODIES[method], format="json")
    return getattr(client, method)(url)


def test_matrix_covers_every_tenant_endpoint():
    assert len({name for name, _, _ in ENDPOINTS}) == len(tenant_patterns)
    assert len(ENDPOINTS) >= 25


@pytest.mark.parametrize("name,route,method", ENDPOINTS)
def test_member_of_another_org_gets_404_for_every_object_of_org_a(name, route, method, tenant_a, tenant_b):
    url = url_for(route, tenant_a.org.slug, tenant_a.ids())
    for outsider in (tenant_b.admin, tenant_b.employee_user):
        response = call(client_for(outsider), method, url)
        assert response.status_code == 404, (name, method, response.status_code)
        assert tenant_a.employee.email.encode() not in body(response)


@pytest.mark.parametrize("name,route,method", [e for e in ENDPOINTS if "<int:" in e[1]])
def test_org_b_members_cannot_reach_org_a_objects_through_their_own_org(name, route, method, tenant_a, tenant_b):
    url = url_for(route, tenant_b.org.slug, tenant_a.ids())
    for insider_of_b in (tenant_b.admin, tenant_b.employee_user):
        response = call(client_for(insider_of_b), method, url)
        # 404 for the object, or 403 when the role may not use the endpoint at all: never A's data.
        assert response.status_code in (403, 404), (name, method, response.status_code)
        assert tenant_a.employee.email.encode() not in body(response)


@pytest.mark.parametrize("name,route,method", ENDPOINTS)
def test_anonymous_is_refused_everywhere(name, route, method, tenant_a):
    response = call(client_for(None), method, url_for(route, tenant_a.org.slug, tenant_a.ids()))
    assert response.status_code == 401, (name, method, response.status_code)


@pytest.mark.parametrize("name,route,method", [e for e in ENDPOINTS if e[2] == "get" and "<int:" not in e[1]])
def test_lists_in_org_b_never_contain_org_a_rows(name, route, method, tenant_a, tenant_b):
    for user in (tenant_b.admin, tenant_b.employee_user):
        response = client_for(user).get(url_for(route, tenant_b.org.slug, {}))
        # 404 only where the user has no employee profile of their own (the /me endpoints of an admin).
        assert response.status_code in (200, 403, 404), (name, response.status_code)
        assert tenant_a.employee.email.encode() not in body(response)
        assert tenant_a.org.slug.encode() not in body(response)


ADMIN_ONLY = {e for e in ENDPOINTS if not e[0].startswith("my-") and e[0] not in {"me", "headshot-file"}}


@pytest.mark.parametrize("name,route,method", sorted(ADMIN_ONLY))
def test_employees_cannot_use_admin_endpoints_of_their_own_org(name, route, method, tenant_a):
    response = call(client_for(tenant_a.employee_user), method, url_for(route, tenant_a.org.slug, tenant_a.ids()))
    assert response.status_code == 403, (name, method, response.status_code)


def test_employee_cannot_fetch_a_colleagues_headshot_file(tenant_a):
    from tests.api.conftest import populate

    colleague = populate(tenant_a.org)
    url = tenant_url("headshot-file", tenant_a.org, colleague.headshot.pk)
    assert client_for(tenant_a.employee_user).get(url).status_code == 404
    assert client_for(colleague.employee_user).get(url).status_code == 200
    assert client_for(tenant_a.admin).get(url).status_code == 200


@pytest.fixture
def api_keys(tenant_a, tenant_b) -> dict[str, str]:
    """A directory API key of each organization, with every scope there is."""
    from integrations.models import ApiKeyScope
    from integrations.services import api_key_create

    return {name: api_key_create(organization=tenant.org, name="HRIS", scopes=list(ApiKeyScope.values),
                                 created_by=tenant.admin).key
            for name, tenant in (("a", tenant_a), ("b", tenant_b))}


@pytest.mark.parametrize("name,route,method", ENDPOINTS)
def test_api_keys_never_open_the_tenant_api_of_any_org(name, route, method, tenant_a, api_keys):
    # API keys are for the directory pull API only: org B's key gets nothing of A, and A's own key can't use
    # A's admin API either (the tenant API authenticates people by token or session, never by API key).
    url = url_for(route, tenant_a.org.slug, tenant_a.ids())
    for key in (api_keys["b"], api_keys["a"]):
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        response = call(client, method, url)
        assert response.status_code == 401, (name, method, response.status_code)
        assert tenant_a.employee.email.encode() not in body(response)


# Identity rows: what org B's admin could try against A's people through invites, SSO, SCIM and domains ----------


def test_identity_b_admin_cannot_accept_a_invite_for_their_own_account(tenant_a, tenant_b):
    from accounts.services import invite_create

    token = invite_create(organization=tenant_a.org, email="someone@a.example", invited_by=tenant_a.admin).token
    response = client_for(tenant_b.admin).post(url_of("api:invite-accept"), {"token": token}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "invite_other_account"
    assert not tenant_b.admin.memberships.filter(organization=tenant_a.org).exists()


def test_identity_b_sso_config_cannot_name_a_domain_only_a_verified(tenant_a, tenant_b):
    from tests.saml_idp import TestIdP

    domain = tenant_a.extra["domain_id"].domain  # verified by A
    response = client_for(tenant_b.admin).put(tenant_url("sso", tenant_b.org), {
        "metadata_xml": TestIdP().metadata_xml(), "allowed_domains": [domain], "enabled": True}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "domain_not_verified"


def test_identity_b_cannot_claim_a_verified_domain_of_a(tenant_a, tenant_b):
    domain = tenant_a.extra["domain_id"].domain
    response = client_for(tenant_b.admin).post(tenant_url("domain-list", tenant_b.org), {"domain": domain},
                                               format="json")
    assert response.status_code == 409 and tenant_a.org.name.encode() not in response.content


def test_identity_b_scim_token_never_reaches_a_users(tenant_a, tenant_b):
    from scim.services import scim_token_create

    _token, secret = scim_token_create(organization=tenant_b.org, created_by=tenant_b.admin, name="B's IdP")
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    user_url = url_of("scim:user", tenant_a.employee.pk)
    assert client.get(user_url).status_code == 404
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert client.patch(user_url, patch, format="json").status_code == 404
    assert client.delete(user_url).status_code == 404
    tenant_a.employee.refresh_from_db()
    assert tenant_a.employee.active
    listed = client.get(url_of("scim:users"), {"filter": f'userName eq "{tenant_a.employee.email}"'})
    assert listed.status_code == 200 and listed.json()["totalResults"] == 0
