"""The HR admin handles an erasure request and checks the directory connections from the portal, in a real browser
at desktop and phone size: the confirmation names what will be deleted, the signed receipt is listed and downloads
as verifiable JSON; the directory page shows write-only credentials. Audited with axe-core."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from connectors.models import Connection
from privacy.receipts import verify
from teams.models import Employee
from tenancy.models import Role
from tests.factories import grant_consent, make_employee, make_org, make_user
from tests.urls import url_of

pytestmark = [pytest.mark.slow]


def test_admin_erases_a_person_and_downloads_the_signed_receipt(
        desktop_page, phone_page, login_as, audit, transactional_db, tmp_path):
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN, email="hr@initech.example")
    grace = make_employee(org, make_user(org, email="grace@initech.example"), name="Grace Hopper")
    grant_consent(grace)
    page = desktop_page
    login_as(page, admin)
    login_as(phone_page, admin)
    page.goto(url_of("portal:admin-settings", org))
    page.get_by_role("link", name="Privacy").first.click()
    page.get_by_label("Find by name or email").fill("grace")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("link", name="Erase Grace Hopper (grace@initech.example)…").click()
    expect(page.locator(".erasure-items")).to_contain_text("1 consent records")
    expect(page.locator(".erasure-items")).to_contain_text("sign-in account")
    phone_page.goto(page.url)
    audit(page, "admin-erasure-confirm")
    audit(phone_page, "admin-erasure-confirm")
    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_role("button", name="Erase this person").click()
    expect(page.locator(".admin-messages")).to_contain_text("The person is erased.")
    assert not Employee.objects.filter(pk=grace.pk).exists()
    expect(page.locator("tr.receipt .receipt-signature")).to_contain_text("HMAC-SHA256")
    phone_page.goto(page.url)
    audit(page, "admin-privacy")
    audit(phone_page, "admin-privacy")
    with page.expect_download() as download:
        page.locator("tr.receipt").get_by_role("link", name="JSON").click()
    path = tmp_path / "receipt.json"
    download.value.save_as(path)
    assert verify(json.loads(path.read_text()))


def test_admin_connects_bamboohr_and_the_credentials_stay_write_only(
        desktop_page, phone_page, login_as, audit, transactional_db):
    org = make_org("Initech")
    admin = make_user(org, Role.OWNER)
    page = desktop_page
    login_as(page, admin)
    login_as(phone_page, admin)
    page.goto(url_of("portal:admin-settings", org))
    page.get_by_role("link", name="Directory connections").first.click()
    bamboo = page.locator('section.connection[data-kind="bamboohr"]')
    bamboo.get_by_label("Company domain (the part before .bamboohr.com)").fill("initech")
    bamboo.get_by_label("API key").fill("secret-bamboo-key")
    bamboo.get_by_role("button", name="Connect BambooHR").click()
    expect(page.locator(".admin-messages")).to_have_text("BambooHR is saved.")
    bamboo = page.locator('section.connection[data-kind="bamboohr"]')
    expect(bamboo.locator(".connection-state")).to_have_text("Connected")
    expect(bamboo.get_by_label("API key (set)")).to_have_value("")
    assert "secret-bamboo-key" not in page.content()
    assert Connection.objects.get(organization=org).credentials["api_key"] == "secret-bamboo-key"
    phone_page.goto(page.url)
    audit(page, "admin-directory")
    audit(phone_page, "admin-directory")
