"""A failed generation request in the review queue, in a real browser at desktop and phone size: its reason and a
Retry that sends it through the queue again. Each layout is audited with axe-core and photographed."""
from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from teams import jobs
from teams.models import GenerationRequest, RequestStatus
from tenancy.models import Role
from tests.factories import grant_consent, make_brand_kit, make_employee, make_org, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failed(live_server, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs.generate_headshots, "send", lambda request_id: sent.append(request_id))
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN)
    ada = make_employee(org, make_user(org), name="Ada Lovelace")
    grant_consent(ada)
    generation = GenerationRequest.objects.create(
        organization=org, employee=ada, brand_kit_version=make_brand_kit(org).current_version,
        status=RequestStatus.FAILED, error="The GPU cluster could not be reached.", finished_at=timezone.now())
    return org, admin, generation, sent


@pytest.mark.parametrize("layout", ["desktop_page", "phone_page"])
def test_a_failed_request_shows_why_and_is_retried(request, layout, login_as, audit, failed):
    page = request.getfixturevalue(layout)
    org, admin, generation, sent = failed
    login_as(page, admin)
    page.goto(url_of("portal:admin-review", org))
    item = page.locator(".failed-request")
    expect(item).to_have_count(1)
    expect(item.locator(".request-error")).to_have_text("The GPU cluster could not be reached.")
    audit(page, "admin-review-failed-request")
    item.get_by_role("button", name="Retry Ada Lovelace").click()
    expect(page.locator(".admin-messages")).to_contain_text("Ada Lovelace’s headshots are being made again.")
    expect(page.locator(".failed-request")).to_have_count(0)
    generation.refresh_from_db()
    assert generation.status == RequestStatus.QUEUED and sent == [generation.pk]
