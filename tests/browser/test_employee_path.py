"""The employee's whole path in a real browser: SSO sign-in through a test identity provider, consent, eight selfies,
live progress of a real generation (Redis -> dramatiq -> Ray), the gallery, a favourite and the approval.

Every page is checked with axe-core and photographed on a desktop and a phone screen (test-artifacts/screenshots/).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from consent.models import Consent
from teams.delivery import request_delivery
from teams.models import GenerationRequest, Headshot, RequestStatus, Selfie
from tenancy.models import Role
from tests.conftest import dev_face
from tests.factories import make_brand_kit, make_employee, make_user, verify_domain
from tests.jobs_support import dramatiq_worker
from tests.urls import url_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]

EMAIL = "angelina@acme.example"
# Four variants keep the path to seconds on a CPU; production kits default to 24 per person.
BRAND = {"background": {"kind": "solid", "color": "#1f4e79"}, "output_sizes": [512, 256], "variants_per_person": 4}
GENERATION_TIMEOUT_MS = 300_000


@pytest.fixture
def acme(org_a, settings, live_server):
    """Acme with a brand kit, SAML SSO through a local test identity provider, and one employee (8 selfies needed)."""
    from sso.services import idp_config_save
    from tests.saml_idp import TestIdP, serve

    assert org_a.selfies_required == 8
    make_user(org_a, Role.ADMIN, email="hr@acme.example")
    make_brand_kit(org_a, **BRAND)
    user = make_user(org_a, Role.EMPLOYEE, email=EMAIL)
    employee = make_employee(org_a, user, name="Angelina Employee")
    idp = TestIdP()
    server = serve(idp, [EMAIL])
    settings.PUBLIC_BASE_URL = live_server.url  # the ACS URL the IdP posts to
    verify_domain(org_a, "acme.example")
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), preset="custom",
                    allowed_domains=["acme.example"], enabled=True)
    yield org_a, employee
    server.stop()


def both(desktop_page, phone_page, audit, name: str) -> None:
    """Audit the desktop page as it is, then the same URL on the phone (signed in as the same person)."""
    audit(desktop_page, name)
    phone_page.goto(desktop_page.url)
    audit(phone_page, name)


def test_employee_signs_in_consents_uploads_and_approves_a_headshot(
        acme, desktop_page, phone_page, login_as, audit, ray_pool, redis_broker):
    org, employee = acme
    page = desktop_page
    home = url_of("portal:home", org)

    # Sign in: the portal sends an anonymous visitor to /login, the work email leads to the company's IdP.
    page.goto(url_of("portal:orgs"))
    expect(page).to_have_url(re.compile(r"/login\?next=/app/$"))
    phone_page.goto(page.url)
    audit(phone_page, "login")
    audit(page, "login")
    page.get_by_label(re.compile("email", re.I)).fill(EMAIL)
    page.get_by_role("button", name=re.compile("continue|sign in|next", re.I)).click()
    page.wait_for_url(re.compile(re.escape(home) + "$"))
    login_as(phone_page, employee.user)

    # Consent comes first: the full text, its version, "I agree" / "Not now".
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consent to the processing of your face data")
    expect(page.get_by_text("face embedding", exact=False).first).to_be_visible()
    both(page, phone_page, audit, "consent")
    assert not Consent.objects.exists()
    page.get_by_role("button", name="I agree").click()
    page.wait_for_url(re.compile(r"/selfies$"))
    consent = Consent.objects.get()
    assert consent.channel == "portal" and consent.user_agent and consent.ip_address
    both(page, phone_page, audit, "selfies-empty")

    # Eight selfies of one person; each gets its own verdict as it comes back, and the counter follows.
    page.set_input_files("#id_files", [str(dev_face("angelina", n)) for n in range(1, 9)])
    verdicts = page.locator("#verdicts .photo")
    expect(verdicts).to_have_count(8)
    expect(page.locator("#verdicts .photo.accepted")).to_have_count(8, timeout=120_000)
    expect(page.locator("#set-counter")).to_have_text("8 of 8 usable selfies")
    expect(page.locator("#stored-photos .photo")).to_have_count(8)
    assert Selfie.objects.filter(employee=employee, in_set=True).count() == 8
    generate = page.get_by_role("button", name="Create my headshots")
    expect(generate).to_be_enabled()
    both(page, phone_page, audit, "selfies-uploaded")

    # Generation: the progress page polls while a real worker runs the job through Ray.
    with dramatiq_worker():
        generate.click()
        page.wait_for_url(re.compile(r"/requests/\d+$"))
        expect(page.locator("#progress-bar")).to_be_visible()
        expect(page.locator("#progress-live")).to_have_attribute("aria-live", "polite")
        audit(page, "progress")
        see = page.get_by_role("link", name="See your headshots")
        expect(see).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
    request = GenerationRequest.objects.get(employee=employee)
    assert request.status == RequestStatus.DONE
    # Done counts what the gallery will show (passed QC), and says why any others are not there.
    expect(page.locator("#progress-text")).to_contain_text(f"Done: {request_delivery(request).message}")
    assert page.locator("#progress-bar").get_attribute("value") == str(request.progress_done)
    both(page, phone_page, audit, "progress-done")

    # Gallery: renditions from the file endpoint (srcset), a favourite, the approval.
    see.click()
    page.wait_for_url(re.compile(r"/headshots$"))
    shown = Headshot.objects.filter(employee=employee, qc_passed=True).order_by("rank", "id")
    cards = page.locator("#gallery li.headshot")
    expect(cards).to_have_count(shown.count())
    first = cards.first
    image = first.locator("img")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    # The browser picked a rendition with at least as many pixels as the card shows (the kit makes 512 and 256).
    chosen_width = int(re.search(r"size=(\d+)", image.evaluate("img => img.currentSrc")).group(1))
    assert chosen_width >= image.evaluate("img => img.getBoundingClientRect().width * window.devicePixelRatio")
    both(page, phone_page, audit, "gallery")

    favourite = first.get_by_role("button", name=re.compile("^Favourite"))
    favourite.click()
    expect(favourite).to_have_attribute("aria-pressed", "true")
    chosen = Headshot.objects.get(pk=int(first.get_attribute("data-id")))
    assert chosen.selected and not chosen.approved

    first.get_by_role("button", name=re.compile("^Approve")).click()
    expect(first.locator(".approved-state")).to_have_text("In the directory")
    expect(first.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    expect(page.locator("#gallery-status")).to_have_text("Approved for the company directory.")
    chosen.refresh_from_db()
    assert chosen.approved and chosen.approved_at is not None
    assert Headshot.objects.filter(employee=employee, approved=True).count() == 1
    both(page, phone_page, audit, "gallery-approved")

    # Downloads come from the same file endpoint, in each rendition size.
    first.locator("details.downloads summary").click()
    href = first.get_by_role("link", name=re.compile("^512 px")).get_attribute("href")
    download = page.request.get(href)
    assert download.ok and download.headers["content-type"] == "image/jpeg"


def test_privacy_notice_is_public_and_not_now_processes_nothing(org_a, desktop_page, phone_page, login_as, audit):
    for page in (desktop_page, phone_page):
        page.goto(url_of("privacy:notice", org_a))
        expect(page.get_by_role("heading", level=1)).to_contain_text("How Acme handles your face data")
        expect(page.get_by_role("table")).to_contain_text("30 days after your headshot is approved")
        audit(page, "privacy-notice")

    employee = make_employee(org_a, make_user(org_a, Role.EMPLOYEE))
    for page in (desktop_page, phone_page):
        login_as(page, employee.user)
        page.goto(url_of("portal:home", org_a))
        page.get_by_role("button", name="Not now").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Nothing has been processed")
        audit(page, "consent-not-now")
    assert not Consent.objects.exists()
