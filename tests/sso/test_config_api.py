"""Admins set up SSO from their IdP's metadata; our SP metadata is valid; bad metadata is a clear 400."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from rest_framework.test import APIClient

from sso.models import IdentityProviderConfig
from tenancy.models import Role
from tests.factories import client_for, make_user, verify_domain
from tests.urls import tenant_url, url_of

from .conftest import BASE_URL

pytestmark = pytest.mark.django_db

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


def url(org, name: str = "sso") -> str:
    return tenant_url(name, org)


def test_sp_metadata_is_valid_and_names_our_entity_and_acs(client, org_a):
    response = client.get(url_of("sso:metadata", org_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    metadata = response.content.decode()
    validator = OneLogin_Saml2_Settings({"sp": {"entityId": "x", "assertionConsumerService": {"url": "https://sp.example/acs"}}},
                                        sp_validation_only=True)
    assert validator.validate_metadata(metadata) == []
    assert f'entityID="{BASE_URL}{url_of("sso:metadata", org_a)}"' in metadata
    assert f'Location="{BASE_URL}{url_of("sso:acs", org_a)}"' in metadata
    assert "WantAssertionsSigned=\"true\"" in metadata
    assert client.get(url_of("sso:metadata", 'nobody')).status_code == 404


def test_get_before_set_up_tells_the_admin_what_to_give_their_idp(admin, org_a):
    response = client_for(admin).get(url(org_a))
    assert response.status_code == 200
    assert response.json() == {
        "configured": False,
        "service_provider": {"entity_id": BASE_URL + url_of("sso:metadata", org_a),
                             "acs_url": BASE_URL + url_of("sso:acs", org_a),
                             "metadata_url": BASE_URL + url_of("sso:metadata", org_a),
                             "login_url": BASE_URL + url_of("sso:start", org_a)},
        "identity_provider": None,
        "require_sso": False,
    }


def test_admin_pastes_metadata_with_the_entra_preset(admin, org_a, idp):
    verify_domain(org_a, "acme.example")
    verify_domain(org_a, "acme.co.uk")
    response = client_for(admin).put(url(org_a), {"metadata_xml": idp.metadata_xml(), "preset": "entra",
                                                  "allowed_domains": ["Acme.example", "@acme.co.uk"],
                                                  "enabled": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()["identity_provider"]
    assert body["entity_id"] == idp.entity_id and body["sso_url"] == idp.sso_url
    assert body["certificate_count"] == 1 and body["enabled"] is True and body["allow_idp_initiated"] is True
    assert body["attribute_mapping"]["email"] == f"{CLAIMS}/emailaddress"
    assert body["allowed_domains"] == ["acme.example", "acme.co.uk"]
    config = IdentityProviderConfig.objects.for_organization(org_a).get()
    assert config.x509_certs == [idp.cert_base64]


def test_admin_uploads_a_metadata_file_and_overrides_one_mapped_field(admin, org_a, idp):
    upload = SimpleUploadedFile("idp.xml", idp.metadata_xml().encode(), content_type="application/xml")
    response = client_for(admin).put(url(org_a), {"metadata": upload, "preset": "okta",
                                                  "attribute_mapping": '{"email": "mail"}'}, format="multipart")
    assert response.status_code == 200, response.content
    mapping = response.json()["identity_provider"]["attribute_mapping"]
    assert mapping["email"] == "mail" and mapping["first_name"] == "firstName"
    assert response.json()["identity_provider"]["enabled"] is False


def test_later_changes_keep_what_they_leave_out(admin, org_a, idp):
    verify_domain(org_a, "acme.example")
    verify_domain(org_a, "acme.org")
    api = client_for(admin)
    api.put(url(org_a), {"metadata_xml": idp.metadata_xml(), "preset": "google", "enabled": True,
                         "allowed_domains": ["acme.example"]}, format="json")
    response = api.put(url(org_a), {"allowed_domains": "acme.example, acme.org"}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()["identity_provider"]
    assert body["enabled"] is True and body["preset"] == "google" and body["entity_id"] == idp.entity_id
    assert body["allowed_domains"] == ["acme.example", "acme.org"]


@pytest.mark.parametrize("metadata,code", [
    ("this is not xml", "metadata_invalid"),
    ("<html><body>login</body></html>", "metadata_no_idp"),
    ('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "metadata_invalid"),
])
def test_unusable_metadata_is_a_clear_400_and_keeps_the_stored_config(admin, org_a, idp, metadata, code):
    api = client_for(admin)
    api.put(url(org_a), {"metadata_xml": idp.metadata_xml(), "enabled": True}, format="json")
    response = api.put(url(org_a), {"metadata_xml": metadata}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]
    assert IdentityProviderConfig.objects.for_organization(org_a).get().entity_id == idp.entity_id


def test_metadata_without_a_signing_certificate_is_refused(admin, org_a, idp):
    response = client_for(admin).put(url(org_a), {"metadata_xml": idp.metadata_xml(include_cert=False)},
                                     format="json")
    assert response.status_code == 400 and response.json()["code"] == "metadata_no_certificate"
    assert "certificate" in response.json()["detail"]


def test_metadata_without_a_redirect_sso_url_is_refused(admin, org_a, idp):
    post_only = idp.metadata_xml().replace("bindings:HTTP-Redirect", "bindings:HTTP-POST")
    response = client_for(admin).put(url(org_a), {"metadata_xml": post_only}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "metadata_no_sso_url"


@pytest.mark.parametrize("payload,code", [
    ({}, "metadata_missing"),
    ({"metadata_xml": ""}, "metadata_missing"),
])
def test_first_set_up_needs_metadata(admin, org_a, payload, code):
    response = client_for(admin).put(url(org_a), payload, format="json")
    assert response.status_code == 400 and response.json()["code"] == code


@pytest.mark.parametrize("payload", [
    {"preset": "okta-classic"},
    {"attribute_mapping": {"shoe_size": "x"}},
    {"attribute_mapping": ["email"]},
    {"allowed_domains": ["not a domain"]},
    {"enabled": "perhaps"},
])
def test_bad_settings_are_400_and_change_nothing(admin, org_a, idp, payload):
    api = client_for(admin)
    api.put(url(org_a), {"metadata_xml": idp.metadata_xml(), "preset": "okta", "enabled": True}, format="json")
    response = api.put(url(org_a), payload, format="json")
    assert response.status_code == 400, response.content
    config = IdentityProviderConfig.objects.for_organization(org_a).get()
    assert config.preset == "okta" and config.enabled and config.attribute_mapping["email"] == "email"


def test_delete_turns_sso_off(admin, org_a, idp):
    api = client_for(admin)
    api.put(url(org_a), {"metadata_xml": idp.metadata_xml(), "enabled": True}, format="json")
    assert api.delete(url(org_a)).status_code == 204
    assert api.get(url(org_a)).json()["configured"] is False
    assert api.delete(url(org_a)).status_code == 404


def test_presets_cover_okta_entra_google_and_custom(admin, org_a):
    response = client_for(admin).get(url(org_a, "sso-presets"))
    assert response.status_code == 200
    presets = {p["name"]: p for p in response.json()}
    assert set(presets) == {"okta", "entra", "google", "custom"}
    assert presets["entra"]["label"] == "Microsoft Entra ID"
    assert presets["entra"]["attribute_mapping"]["email"] == f"{CLAIMS}/emailaddress"
    assert presets["okta"]["attribute_mapping"]["email"] == "email"


def test_only_admins_of_the_organization_may_see_or_change_sso(org_a, org_b, idp):
    employee = make_user(org_a, Role.EMPLOYEE)
    outsider_admin = make_user(org_b, Role.ADMIN)
    for name in ("sso", "sso-presets"):
        assert client_for(employee).get(url(org_a, name)).status_code == 403
        assert client_for(outsider_admin).get(url(org_a, name)).status_code == 404
        assert APIClient().get(url(org_a, name)).status_code == 401
    payload = {"metadata_xml": idp.metadata_xml(), "enabled": True}
    assert client_for(employee).put(url(org_a), payload, format="json").status_code == 403
    assert client_for(outsider_admin).put(url(org_a), payload, format="json").status_code == 404
    assert not IdentityProviderConfig.objects.exists()
