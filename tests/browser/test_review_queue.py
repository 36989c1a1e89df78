"""The review queue in a real browser, at desktop and phone size: a person's own pick comes first with their other
variants closed, and headshots that failed QC are listed with their reasons and can be approved anyway. Each
layout is audited with axe-core and photographed (test-artifacts/screenshots/).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from teams.models import Headshot, RequestStatus
from tenancy.models import Role
from tests.factories import make_brand_kit, make_employee, make_org, make_user
from tests.portal.test_admin_selectors import add_headshot, add_request
from tests.urls import url_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(live_server):
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN)
    ada = make_employee(org, make_user(org), name="Ada Lovelace")
    grace = make_employee(org, make_user(org), name="Grace Hopper")
    kit = make_brand_kit(org)
    ada_set = add_request(ada, kit, RequestStatus.DONE)
    for _ in range(3):
        add_headshot(ada_set)
    chosen = add_headshot(ada_set, approved=True)  # Ada approved this one in her gallery
    failed = add_headshot(add_request(grace, kit, RequestStatus.DONE), qc_passed=False,
                          qc={"failures": ["identity", "edge_halo"]})
    return org, admin, chosen, failed


@pytest.mark.parametrize("layout", ["desktop_page", "phone_page"])
def test_the_queue_shows_the_pick_and_failed_headshots_with_reasons(request, layout, login_as, audit, queue):
    page = request.getfixturevalue(layout)
    org, admin, chosen, failed = queue
    login_as(page, admin)
    page.goto(url_of("portal:admin-review", org))
    items = page.locator(".review-item")
    expect(items).to_have_count(1)  # Ada's three other variants are closed
    expect(items.first.locator(".review-pick")).to_have_text(
        "Their choice: they approved this one. Their 3 other variants are closed.")
    failed_item = page.locator(".failed-item")
    expect(failed_item).to_have_count(1)
    expect(failed_item.locator(".qc-reasons li")).to_have_text(
        ["Doesn't look enough like the person", "A halo around the person's outline"])
    audit(page, "admin-review-queue")
    failed_item.get_by_label("Note (needed to regenerate or reject)").fill("The likeness is fine")
    failed_item.get_by_role("button", name="Approve anyway").click()
    expect(page.locator(".admin-messages")).to_contain_text("Approved Grace Hopper")
    expect(page.locator(".failed-item")).to_have_count(0)
    stored = Headshot.objects.get(pk=failed.pk)
    assert stored.approved and stored.review_status == "approved" and stored.review_note == "The likeness is fine"
