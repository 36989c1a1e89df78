"""The HR admin's path in a real browser: brand kit with a live preview, invite, review real headshots, approve, export.

Headshots come from the real pipeline (generation_run through the Ray pool) for an employee seeded with three
dev-face selfies; every page is audited (axe-core + screenshot) at desktop and phone size.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.core import mail
from playwright.sync_api import expect

from brand_kits.models import BrandKit
from teams.generation import generation_run
from teams.generation_requests import generation_request_start
from teams.models import Employee, Headshot, RequestStatus
from teams.selfies import selfies_upload
from tenancy.models import Role
from tests.conftest import dev_face
from tests.factories import make_employee, make_org, make_user
from tests.urls import url_of

pytestmark = [pytest.mark.slow, pytest.mark.redis]

PREVIEW_LOADED = """() => { const i = document.getElementById('kit-preview');
                            return i && i.complete && i.naturalWidth > 0; }"""


def named(path) -> io.BytesIO:
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    return handle


def grant_consent(employee) -> None:
    # The privacy app records biometric consent; an employee must have given it before selfies are processed.
    try:
        from consent.services import consent_grant
    except ImportError:
        return
    consent_grant(employee=employee, user=employee.user, ip="127.0.0.1", user_agent="test", channel="portal")


def seeded_employee(org):
    org.selfies_required = 3  # the dev set of this person has 3 photos; the default is 8
    org.save()
    employee = make_employee(org, make_user(org), name="Barack Obama", external_id="E-44")
    grant_consent(employee)
    result = selfies_upload(employee=employee, uploads=[named(dev_face("barack_obama", n)) for n in (1, 2, 3)])
    assert len(result.accepted) == 3, result.rejected
    return employee


def test_admin_creates_a_kit_invites_reviews_real_headshots_approves_and_exports(
        desktop_page, phone_page, login_as, audit, live_server, transactional_db, ray_pool, redis_broker, tmp_path):
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN)
    employee = seeded_employee(org)
    admin_base = url_of("portal:admin-dashboard", org)
    page = desktop_page
    login_as(page, admin)
    login_as(phone_page, admin)

    def both(url: str, name: str) -> None:
        """Audit the page already open on the desktop, then the same URL on the phone."""
        audit(page, name)
        phone_page.goto(url, timeout=120_000)
        if phone_page.locator("#kit-preview").count():
            phone_page.wait_for_function(PREVIEW_LOADED, timeout=120_000)
        audit(phone_page, name)

    page.goto(admin_base)
    assert page.locator("h1").inner_text() == "Rollout dashboard"
    both(admin_base, "admin-dashboard")

    # A brand kit from a preset; the editor shows the sample face rendered with it.
    page.get_by_role("link", name="Brand kits").click()
    both(page.url, "admin-brand-kits")
    page.get_by_label("Kit name").fill("Initech blue")
    page.get_by_label("Start from").select_option("corporate_finance")
    page.get_by_role("button", name="Create kit").click()
    # The first preview loads the pipeline into the web process (seconds), so don't wait for the page's load event.
    page.wait_for_url(re.compile(r"/brand-kits/\d+/$"), wait_until="domcontentloaded")
    page.wait_for_function(PREVIEW_LOADED, timeout=120_000)
    kit = BrandKit.objects.get(organization=org, name="Initech blue")
    # Editing re-renders the preview (debounced fetch); then saving makes version 2 with few variants per person.
    first_preview = page.locator("#kit-preview").get_attribute("src")
    page.get_by_label("Variants per person", exact=True).fill("3")
    page.get_by_label("Output widths in pixels").fill("512, 256")
    page.get_by_label("Lighting").select_option("soft")
    page.wait_for_function("() => document.getElementById('preview-status').textContent === 'Preview updated.'",
                           timeout=120_000)
    assert first_preview.startswith(f"{admin_base}brand-kits/{kit.pk}/preview.jpg?")
    assert page.locator("#kit-preview").get_attribute("src").startswith("blob:")  # the JS swapped in the new one
    page.wait_for_function(PREVIEW_LOADED)
    both(page.url, "admin-brand-kit")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator(".admin-messages")).to_have_text("Saved as version 2.")
    assert kit.current_version.version == 2 and kit.current_version.spec["variants_per_person"] == 3

    # Invite a new person: the invite email goes out with its link.
    page.get_by_role("link", name="Employees").click()
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    page.get_by_label("Work email").fill("grace@initech.example")
    page.get_by_role("button", name="Send invite").click()
    expect(page.locator(".admin-messages")).to_have_text("Invite sent to grace@initech.example.")
    assert [m.to for m in mail.outbox] == [["grace@initech.example"]] and "/invite/" in mail.outbox[0].body
    assert Employee.objects.get(organization=org, email="grace@initech.example").invites.count() == 1
    both(page.url, "admin-employees")

    # Real headshots for the seeded employee, made by the pipeline through the Ray pool with the saved kit.
    request = generation_request_start(employee=employee, created_by=admin, brand_kit=kit)
    request = generation_run(request.pk)
    assert request.status == RequestStatus.DONE, request.error
    made = Headshot.objects.filter(request=request, qc_passed=True)
    assert made.count() >= 2

    page.get_by_role("link", name="Review").click()
    items = page.locator(".review-item")
    assert items.count() == made.count()
    first = items.first
    for image in first.locator("img").all():  # the source selfie and the generated headshot both load
        image.scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert "Likeness distance" in first.inner_text()
    both(page.url, "admin-review")
    headshot_id = int(first.locator("form").get_attribute("action").rstrip("/").rsplit("/", 1)[1])
    first.get_by_role("button", name="Approve").click()
    expect(page.locator(".admin-messages")).to_contain_text("Approved Barack Obama")
    approved = Headshot.objects.get(pk=headshot_id)
    assert approved.approved and approved.review_status == "approved" and approved.reviewed_by == admin
    # With an approved headshot the person has their pick: their other variants are closed, not left waiting.
    assert page.locator(".review-item").count() == 0

    # Export: the ZIP the browser downloads holds the approved headshot and its manifest row.
    page.get_by_role("link", name="Exports").click()
    both(page.url, "admin-exports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download ZIP").click()
    target = tmp_path / "export.zip"
    download.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        assert [row["external_id"] for row in rows] == ["E-44"]
        assert rows[0]["file"] in archive.namelist()
        assert archive.read(rows[0]["file"])[:3] in (b"\xff\xd8\xff", b"\x89PN")
