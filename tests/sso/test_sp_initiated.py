"""SP-initiated sign-in end to end: our AuthnRequest goes to a real IdP server, its signed answer comes back once."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import html

from accounts.models import User
from sso.models import PendingAuthnRequest
from sso.services import idp_config_save
from tests.factories import make_employee, verify_domain
from tests.saml_idp import TestIdP, serve
from tests.urls import url_of

from .conftest import BASE_URL, acs_path, audience

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp_server():
    idp = TestIdP()
    server = serve(idp, ["ada@acme.example", "bob@acme.example"])
    yield server
    server.stop()


@pytest.fixture
def org(org_a, idp_server):
    idp_config_save(organization=org_a, metadata_xml=idp_server.idp.metadata_xml(), enabled=True)
    return org_a


def idp_form(location: str) -> dict:
    """Follow our redirect to the IdP like a browser and read the auto-submitting form it answers with."""
    page = requests.get(location, timeout=10)
    assert page.status_code == 200
    form = html.fromstring(page.text).forms[0]
    return {"action": form.action, **dict(form.fields)}


def test_sp_initiated_round_trip_through_the_idp_signs_in_and_returns_to_next(client, org, idp_server):
    make_employee(org, email="bob@acme.example")
    idp_server.user = "bob@acme.example"

    start = client.get(url_of("sso:start", org), {"next": "/app/selfies?step=2"})

    assert start.status_code == 302
    location = start["Location"]
    assert location.startswith(idp_server.sso_url + "?")
    assert "SAMLRequest" in parse_qs(urlsplit(location).query)
    pending = PendingAuthnRequest.objects.for_organization(org).get()

    form = idp_form(location)
    received = idp_server.requests[-1]
    assert received.id == pending.request_id
    assert received.acs_url == form["action"] == BASE_URL + acs_path(org)
    assert received.issuer == audience(org)

    done = client.post(acs_path(org), {"SAMLResponse": form["SAMLResponse"], "RelayState": form["RelayState"]})

    assert done.status_code == 302 and done["Location"] == "/app/selfies?step=2"
    assert int(client.session["_auth_user_id"]) == User.objects.get(email="bob@acme.example").pk
    # The request is answered: it can't be answered again, and the same response can't be replayed.
    assert not PendingAuthnRequest.objects.exists()
    client.logout()
    again = client.post(acs_path(org), {"SAMLResponse": form["SAMLResponse"]})
    assert again.status_code == 400 and "_auth_user_id" not in client.session


def test_next_pointing_off_site_is_replaced_before_the_idp_sees_it(client, org, idp_server):
    make_employee(org, email="ada@acme.example")
    start = client.get(url_of("sso:start", org), {"next": "https://evil.example/"})
    form = idp_form(start["Location"])
    assert form["RelayState"] == url_of("portal:orgs")
    done = client.post(acs_path(org), {"SAMLResponse": form["SAMLResponse"], "RelayState": form["RelayState"]})
    assert done["Location"] == url_of("portal:orgs")


def test_an_answer_to_one_request_cannot_be_used_after_a_second_login_started_elsewhere(client, org, idp_server):
    make_employee(org, email="ada@acme.example")
    first = idp_form(client.get(url_of("sso:start", org))["Location"])
    second = idp_form(client.get(url_of("sso:start", org))["Location"])
    # Each request is single use: both can complete once, in any order, and never twice.
    assert client.post(acs_path(org), {"SAMLResponse": second["SAMLResponse"]}).status_code == 302
    client.logout()
    assert client.post(acs_path(org), {"SAMLResponse": first["SAMLResponse"]}).status_code == 302
    client.logout()
    assert client.post(acs_path(org), {"SAMLResponse": first["SAMLResponse"]}).status_code == 400


def test_response_signed_for_a_request_but_sent_after_it_expired_is_refused(client, org, idp_server, settings):
    make_employee(org, email="ada@acme.example")
    form = idp_form(client.get(url_of("sso:start", org))["Location"])
    PendingAuthnRequest.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert client.post(acs_path(org), {"SAMLResponse": form["SAMLResponse"]}).status_code == 400
    assert "_auth_user_id" not in client.session


def test_login_start_for_an_organization_without_sso_is_a_clear_404(client, org_b):
    response = client.get(url_of("sso:start", org_b))
    assert response.status_code == 404
    assert b"not set up" in response.content
    assert client.get(url_of("sso:start", 'no-such-org')).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_whole_flow_over_http_like_a_browser(live_server, settings):
    """Real HTTP on both sides: our live server, the IdP's server, a cookie-keeping client following redirects."""
    from tests.factories import make_org

    settings.PUBLIC_BASE_URL = live_server.url
    # Plain http here, so the cookies must not be Secure-only (production keeps them Secure).
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    org = make_org("Live")
    make_employee(org, email="ada@acme.example")
    verify_domain(org, "acme.example")  # the verified domain sends ada@ to the organization's IdP
    idp = TestIdP()
    server = serve(idp, "ada@acme.example")
    try:
        idp_config_save(organization=org, metadata_xml=idp.metadata_xml(), enabled=True)
        browser = requests.Session()
        # Sign-in page -> our SP-initiated login -> the IdP's auto-submitting form.
        page = browser.get(live_server.url + url_of("sso:login"), timeout=10)
        token = html.fromstring(page.text).forms[0].fields["csrfmiddlewaretoken"]
        at_idp = browser.post(live_server.url + url_of("sso:login"),
                              {"email": "ada@acme.example", "next": url_of("portal:orgs"),
                               "csrfmiddlewaretoken": token}, timeout=10)
        assert at_idp.url.startswith(server.sso_url), (at_idp.status_code, at_idp.url, at_idp.text[:1500])
        form = html.fromstring(at_idp.text).forms[0]
        # The form posts to our ACS (as the browser would, cross-site); we answer with the session and a redirect.
        landed = browser.post(form.action, dict(form.fields), allow_redirects=False, timeout=10)
        assert landed.status_code == 302 and landed.headers["Location"] == url_of("portal:orgs")
        assert "sessionid" in browser.cookies
        from django.contrib.sessions.models import Session

        session = Session.objects.get(session_key=browser.cookies["sessionid"]).get_decoded()
        assert int(session["_auth_user_id"]) == User.objects.get(email="ada@acme.example").pk
    finally:
        server.stop()
