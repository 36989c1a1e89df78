"""The admin portal's Single sign-on page: our SP values, the IdP's metadata by paste, file or URL (through the egress
guard) with what was read from it, presets, the test sign-in's report, and SSO required only after a successful
sign-in; admins only, and nothing of another organization is reachable."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sso.models import IdentityProviderConfig, PendingAuthnRequest
from sso.services import idp_config_save
from tenancy.models import Organization, Role
from tests.factories import make_user, verify_domain
from tests.saml_idp import TestIdP
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sso_page(org) -> str:
    return url_of("portal:admin-sso", org)


@pytest.fixture
def owner(org_a):
    return make_user(org_a, Role.OWNER, email="ada@acme.example")


@pytest.fixture
def metadata_server(allow_test_origin):
    """A local server answering the test IdP's metadata (the guard lets only this exact origin through)."""
    idp = TestIdP()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = idp.metadata_xml().encode()
            self.send_response(200 if self.path == "/metadata" else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield idp, allow_test_origin(f"http://127.0.0.1:{server.server_address[1]}/metadata")
    server.shutdown()
    server.server_close()


def test_the_page_shows_our_sp_values_and_the_steps_for_each_preset(org_a, owner, settings):
    settings.PUBLIC_BASE_URL = "https://headshots.example"
    page = signed_in(owner).get(sso_page(org_a)).content.decode()
    assert f'id="sp-entity-id">https://headshots.example{url_of("sso:metadata", org_a)}</code>' in page
    assert f'id="sp-acs-url">https://headshots.example{url_of("sso:acs", org_a)}</code>' in page
    assert 'data-copy="sp-acs-url"' in page and "portal/admin/copy.js" in page
    for preset in ("okta", "entra", "google"):
        assert f'data-preset="{preset}"' in page
    assert "Audience URI (SP Entity ID)" in page and "Reply URL (Assertion Consumer Service URL)" in page


def test_pasted_metadata_shows_entity_id_sso_url_and_certificate_expiry(org_a, owner):
    idp = TestIdP()
    client = signed_in(owner)
    client.post(sso_page(org_a), {"action": "metadata", "metadata_xml": idp.metadata_xml(), "preset": "entra"})
    page = client.get(sso_page(org_a)).content.decode()
    assert f'id="idp-entity-id">{idp.entity_id}</code>' in page and f'id="idp-sso-url">{idp.sso_url}</code>' in page
    assert "CN=Test IdP: expires on" in page
    config = IdentityProviderConfig.objects.get(organization=org_a)
    assert config.preset == "entra" and config.attribute_mapping["email"].endswith("/emailaddress")


def test_a_metadata_file_is_read_too(org_a, owner):
    idp = TestIdP()
    upload = SimpleUploadedFile("idp.xml", idp.metadata_xml().encode(), content_type="application/xml")
    signed_in(owner).post(sso_page(org_a), {"action": "metadata", "metadata_file": upload, "preset": "okta"})
    assert IdentityProviderConfig.objects.get(organization=org_a).entity_id == idp.entity_id


def test_metadata_by_url_goes_through_the_egress_guard(org_a, owner, metadata_server):
    idp, url = metadata_server
    client = signed_in(owner)
    refused = client.post(sso_page(org_a), {"action": "metadata", "metadata_url": "https://10.0.0.1/metadata"},
                          follow=True)
    assert "public address" in refused.content.decode()
    refused = client.post(sso_page(org_a), {"action": "metadata", "metadata_url": "http://169.254.169.254/latest"},
                          follow=True)
    assert "https" in refused.content.decode() and not IdentityProviderConfig.objects.exists()
    client.post(sso_page(org_a), {"action": "metadata", "metadata_url": url, "preset": "google"})
    assert IdentityProviderConfig.objects.get(organization=org_a).entity_id == idp.entity_id


def test_bad_metadata_is_refused_with_its_reason(org_a, owner):
    response = signed_in(owner).post(sso_page(org_a), {"action": "metadata", "metadata_xml": "<not-saml/>"},
                                     follow=True)
    assert "The metadata has no identity provider" in response.content.decode()
    assert not IdentityProviderConfig.objects.exists()


def test_the_test_sign_in_reports_what_the_assertion_carried_and_then_sso_can_be_required(org_a, owner, settings):
    settings.PUBLIC_BASE_URL = "https://headshots.example"
    idp = TestIdP()
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), preset="okta", enabled=True)
    client = signed_in(owner)
    refused = client.post(sso_page(org_a), {"action": "require"}, follow=True)
    assert "test sign-in" in refused.content.decode() and not Organization.objects.get(pk=org_a.pk).require_sso

    started = client.post(sso_page(org_a), {"action": "test"})
    assert started.status_code == 302 and started["Location"].startswith(url_of("sso:start", org_a) + "?next=")
    at_idp = client.get(started["Location"])
    assert at_idp["Location"].startswith(idp.sso_url)
    pending = PendingAuthnRequest.objects.get(organization=org_a)
    response = idp.response(acs_url="https://headshots.example" + url_of("sso:acs", org_a), email="ada@acme.example",
                            audience="https://headshots.example" + url_of("sso:metadata", org_a),
                            in_response_to=pending.request_id,
                            attributes={"email": "ada@acme.example", "firstName": "Ada", "groups": ["hr", "it"]})
    back = client.post(url_of("sso:acs", org_a), {"SAMLResponse": response, "RelayState": pending.next_url})
    assert back.status_code == 302 and "sso_test=1" in back["Location"]
    page = client.get(back["Location"]).content.decode()
    assert "The test sign-in worked." in page and 'id="report-email">ada@acme.example' in page
    assert "<code>groups</code>: hr, it" in page and "<code>firstName</code>: Ada" in page
    client.post(sso_page(org_a), {"action": "require"})
    assert Organization.objects.get(pk=org_a.pk).require_sso


def test_jit_domains_must_be_verified_ones(org_a, owner):
    idp_config_save(organization=org_a, metadata_xml=TestIdP().metadata_xml(), preset="okta")
    verify_domain(org_a, "acme.example")
    client = signed_in(owner)
    refused = client.post(sso_page(org_a), {"action": "settings", "enabled": "on",
                                            "allowed_domains": ["globex.example"]}, follow=True)
    assert "Verify globex.example" in refused.content.decode()
    client.post(sso_page(org_a), {"action": "settings", "enabled": "on", "allowed_domains": ["acme.example"]})
    config = IdentityProviderConfig.objects.get(organization=org_a)
    assert config.enabled and config.allowed_domains == ["acme.example"]


def test_another_organizations_sso_is_out_of_reach(org_a, org_b, owner):
    theirs = TestIdP()
    idp_config_save(organization=org_b, metadata_xml=theirs.metadata_xml(), preset="okta", enabled=True)
    stranger = signed_in(make_user(org_b, Role.OWNER))
    assert stranger.get(sso_page(org_a)).status_code == 404
    assert stranger.post(sso_page(org_a), {"action": "delete"}).status_code == 404
    page = signed_in(owner).get(sso_page(org_a)).content.decode()
    assert theirs.entity_id not in page
    signed_in(owner).post(sso_page(org_a), {"action": "delete"})
    assert IdentityProviderConfig.objects.filter(organization=org_b).exists()


def test_only_admins_reach_the_sso_page(org_a):
    assert Client().get(sso_page(org_a)).status_code == 302
    employee = signed_in(make_user(org_a, Role.EMPLOYEE))
    assert employee.get(sso_page(org_a)).status_code == 403
    assert employee.post(sso_page(org_a), {"action": "metadata",
                                           "metadata_xml": TestIdP().metadata_xml()}).status_code == 403
    assert not IdentityProviderConfig.objects.exists()


def test_the_api_takes_the_metadata_url_through_the_same_guard(org_a, owner, metadata_server):
    from tests.factories import client_for

    idp, url = metadata_server
    api = client_for(owner)
    refused = api.put(tenant_url("sso", org_a), {"metadata_url": "https://10.0.0.1/metadata"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "metadata_url_invalid"
    saved = api.put(tenant_url("sso", org_a), {"metadata_url": url, "preset": "okta"}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["identity_provider"]["entity_id"] == idp.entity_id
