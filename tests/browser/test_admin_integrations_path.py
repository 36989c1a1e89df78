"""The IT admin connects other systems from the portal, in a real browser at desktop and phone size: an API key the
pull API accepts, a SCIM token a provisioning client uses, a webhook whose test event arrives signed (verified with
standardwebhooks), and the audit log filtered and downloaded as CSV. Every page is audited (axe-core) and
photographed."""
from __future__ import annotations

import csv
import json

import pytest
import requests
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from teams.models import Employee
from tenancy.models import Role
from tests.factories import make_org, make_user
from tests.jobs_support import dramatiq_worker, wait_for
from tests.urls import url_of
from tests.webhooks.conftest import receiver  # noqa: F401 (fixture)
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = [pytest.mark.slow]


def both(audit, page, phone_page, name: str) -> None:
    audit(page, name)
    phone_page.goto(page.url)
    audit(phone_page, name)


@pytest.fixture
def admin_pages(desktop_page, phone_page, login_as, transactional_db):
    org = make_org("Initech")
    admin = make_user(org, Role.OWNER, email="it@initech.example")
    login_as(desktop_page, admin)
    login_as(phone_page, admin)
    desktop_page.goto(url_of("portal:admin-settings", org))
    return org, admin, desktop_page, phone_page


def test_admin_creates_an_api_key_and_the_pull_api_accepts_it(admin_pages, audit, live_server):
    org, admin, page, phone = admin_pages
    page.get_by_role("link", name="API keys").first.click()
    page.get_by_label("Name").fill("Workday")
    page.get_by_label("Read the employee directory").check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-secret").inner_text()
    assert key.startswith("hs_live_")
    audit(page, "admin-api-keys-created")
    pulled = requests.get(live_server.url + url_of("integrations:directory-employees"), timeout=30,
                          headers={"Authorization": f"Bearer {key}"})
    assert pulled.status_code == 200, pulled.text
    page.goto(page.url)  # the key is never shown again; its last use is
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.locator("tr.api-key .key-last-used")).not_to_have_text("Never")
    both(audit, page, phone, "admin-api-keys")


def test_admin_creates_a_scim_token_and_a_provisioning_client_uses_it(admin_pages, audit, live_server):
    org, admin, page, phone = admin_pages
    page.get_by_role("link", name="Provisioning (SCIM)").first.click()
    base = page.locator("#scim-base-url").inner_text()
    assert base == f"{live_server.url}/scim/v2/"
    page.get_by_label("Token name").fill("Okta")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-secret").inner_text()
    audit(page, "admin-scim-created")
    created = requests.post(f"{base}Users", timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}, data=json.dumps({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@initech.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@initech.example", "primary": True}]}))
    assert created.status_code == 201, created.text
    assert Employee.objects.get(organization=org).email == "ada@initech.example"
    page.goto(page.url)
    expect(page.locator("#scim-last-request")).to_contain_text("Last change from your directory")
    both(audit, page, phone, "admin-scim")


@pytest.mark.redis
def test_admin_adds_a_webhook_and_the_test_event_arrives_verified(
        admin_pages, audit, receiver, redis_broker):  # noqa: F811
    org, admin, page, phone = admin_pages
    page.get_by_role("link", name="Webhooks").first.click()
    page.get_by_label("Receiver URL").fill(receiver.url)
    page.get_by_label("Headshot approved").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    audit(page, "admin-webhooks-created")
    page.get_by_role("link", name=receiver.url).click()
    with dramatiq_worker():
        page.get_by_role("button", name="Send test event").click()
        expect(page.locator(".admin-messages")).to_contain_text("A test event is on its way")
        wait_for(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(), 30)
    [got] = receiver.requests
    event = Webhook(secret).verify(got.body, got.headers)
    assert event["type"] == "webhook.ping" and event["data"]["message"] == "This is a test event."
    page.get_by_role("link", name="Refresh").click()
    row = page.locator("tr.delivery").first
    expect(row.locator(".delivery-status")).to_have_text("Succeeded")
    expect(row.locator(".delivery-attempts")).to_contain_text("1 /")
    both(audit, page, phone, "admin-webhook-delivery-log")
    page.goto(url_of("portal:admin-webhooks", org))
    audit(page, "admin-webhooks")


def test_admin_filters_the_audit_log_and_downloads_its_csv(admin_pages, audit, live_server, tmp_path):
    org, admin, page, phone = admin_pages
    # Something to find: the admin changes a setting (an audited write) through the portal itself.
    page.get_by_role("link", name="Organization").first.click()
    page.get_by_label("Organization name").fill("Initech Ltd")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("link", name="Audit log").first.click()
    page.get_by_label("Who").select_option(label="it@initech.example")
    page.get_by_label("Action starts with").fill("http.post")
    page.get_by_role("button", name="Show events").click()
    event = page.locator("tr.audit-event").first
    expect(event.locator(".audit-action")).to_have_text("http.post")
    expect(event.locator(".audit-actor")).to_have_text("it@initech.example")
    expect(event).to_contain_text("portal:admin-settings-organization")
    both(audit, page, phone, "admin-audit-log")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these events as CSV").click()
    path = tmp_path / "audit.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows and {r["action"] for r in rows} == {"http.post"}
    assert {r["actor_id"] for r in rows} == {str(admin.pk)}
    assert any("portal:admin-settings-organization" in r["detail"] for r in rows)
