"""The IT admin sets up SAML single sign-on from the portal with the offline test IdP (tests/saml_idp.py), passes a
real test sign-in (browser -> our SP -> the IdP's server -> our ACS -> back to the page with its report), then
requires SSO. Audited with axe-core at desktop and phone size."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tenancy.models import Organization, Role
from tests.factories import make_org, make_user, verify_domain
from tests.saml_idp import TestIdP, serve
from tests.urls import url_of

pytestmark = [pytest.mark.slow]


def test_admin_sets_up_sso_with_the_test_idp_and_passes_the_test_sign_in(
        desktop_page, phone_page, login_as, audit, live_server, transactional_db, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # the ACS URL and audience the IdP signs for
    org = make_org("Acme")
    owner = make_user(org, Role.OWNER, email="ada@acme.example")
    verify_domain(org, "acme.example")
    idp = TestIdP()
    server = serve(idp, ["ada@acme.example"])
    page = desktop_page
    try:
        login_as(page, owner)
        login_as(phone_page, owner)
        page.goto(url_of("portal:admin-settings", org))
        page.get_by_role("link", name="Single sign-on").first.click()
        expect(page.locator("#sp-acs-url")).to_have_text(live_server.url + url_of("sso:acs", org))
        audit(page, "admin-sso-empty")
        # The copy buttons (static/portal/admin/copy.js, no inline script) put the value on the clipboard.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        page.get_by_role("button", name="Copy ACS URL").click()
        acs = live_server.url + url_of("sso:acs", org)
        for _ in range(50):
            if page.evaluate("navigator.clipboard.readText()") == acs:
                break
            page.wait_for_timeout(100)
        assert page.evaluate("navigator.clipboard.readText()") == acs

        page.get_by_label("Metadata XML", exact=True).fill(idp.metadata_xml())
        page.get_by_label("Identity provider", exact=True).select_option(label="Okta")
        page.get_by_role("button", name="Read metadata").click()
        expect(page.locator(".admin-messages")).to_contain_text(f"Read the metadata of {idp.entity_id}.")
        expect(page.locator("#idp-sso-url")).to_have_text(server.sso_url)
        expect(page.locator(".idp-certificate")).to_contain_text("CN=Test IdP: expires on")
        expect(page.get_by_role("button", name="Require single sign-on")).to_be_disabled()

        page.get_by_label("Single sign-on is on").check()
        page.get_by_label("acme.example", exact=True).check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".admin-messages")).to_have_text("Single sign-on settings are saved.")

        page.get_by_role("button", name="Test sign-in").click()
        # Through the IdP's auto-submitting page and our ACS, back here with the report.
        page.wait_for_url(f"**/app/{org.slug}/admin/settings/sso/?sso_test=1")
        expect(page.locator("#test-report")).to_contain_text("The test sign-in worked.")
        expect(page.locator("#report-email")).to_have_text("ada@acme.example")
        expect(page.locator(".report-attribute")).to_contain_text("email: ada@acme.example")
        assert server.requests and server.requests[0].acs_url == live_server.url + url_of("sso:acs", org)
        audit(page, "admin-sso-tested")

        page.get_by_role("button", name="Require single sign-on").click()
        expect(page.locator("#require-state")).to_have_text("Required")
        assert Organization.objects.get(pk=org.pk).require_sso
        # The phone signs in through SSO too now that it is required (its code-less session no longer counts).
        phone_page.goto(url_of("portal:admin-sso", org))
        phone_page.wait_for_url(f"**/app/{org.slug}/admin/settings/sso/")
        audit(phone_page, "admin-sso-tested")
    finally:
        server.stop()
