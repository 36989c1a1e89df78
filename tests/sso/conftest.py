"""An organization whose SSO goes to an offline test IdP, and helpers to post its responses to our ACS."""
from __future__ import annotations

import base64

import pytest

from sso.services import idp_config_save
from tests.saml_idp import TestIdP
from tests.urls import url_of

BASE_URL = "https://headshots.example"


@pytest.fixture(scope="session")
def idp() -> TestIdP:
    return TestIdP(entity_id="https://idp.acme.example/metadata", sso_url="https://idp.acme.example/sso")


@pytest.fixture(scope="session")
def rogue_idp() -> TestIdP:
    return TestIdP(entity_id="https://idp.acme.example/metadata")


@pytest.fixture(autouse=True)
def _public_base_url(settings):
    settings.PUBLIC_BASE_URL = BASE_URL


@pytest.fixture
def sso_org(org_a, idp):
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), preset="okta", enabled=True)
    return org_a


def acs_path(org) -> str:
    return url_of("sso:acs", org)


def audience(org) -> str:
    return BASE_URL + url_of("sso:metadata", org)


def signed(idp: TestIdP, org, email: str, **kwargs) -> str:
    return idp.response(acs_url=BASE_URL + acs_path(org), audience=audience(org), email=email, **kwargs)


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()
