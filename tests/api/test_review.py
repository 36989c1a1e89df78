"""HR review API: reject or regenerate a headshot with a note; the regeneration goes through the real queue."""
from __future__ import annotations

import pytest

from brand_kits.services import brand_kit_update
from teams.models import GenerationRequest, Headshot, RequestStatus, ReviewStatus
from teams.review import headshot_review_approve
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


def url(tenant, headshot_id: int, action: str) -> str:
    return tenant_url(f"headshot-{action}", tenant.org, headshot_id)


def ready_for_another_request(tenant) -> None:
    # populate() gives the employee one stored selfie and a finished request; one selfie is a complete set here.
    tenant.org.selfies_required = 1
    tenant.org.save(update_fields=["selfies_required"])
    _grant_consent_if_required(tenant)


def _grant_consent_if_required(tenant) -> None:
    # The privacy app (a colleague's) may require consent before any generation; grant it when it exists.
    try:
        from consent.services import consent_grant
    except ImportError:
        return
    consent_grant(employee=tenant.employee, user=tenant.employee_user, ip="127.0.0.1", user_agent="test",
                  channel="portal")


def test_admin_rejects_a_headshot_with_a_note(tenant_a):
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "reject"),
                                               {"note": "Eyes half closed"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review_status"] == "rejected" and body["review_note"] == "Eyes half closed"
    assert body["reviewed_by"] == tenant_a.admin.pk and body["reviewed_at"]
    tenant_a.headshot.refresh_from_db()
    assert tenant_a.headshot.review_status == ReviewStatus.REJECTED and not tenant_a.headshot.approved


def test_rejecting_an_approved_headshot_withdraws_the_approval(tenant_a):
    headshot_review_approve(headshot=tenant_a.headshot, actor=tenant_a.admin)
    assert Headshot.objects.get(pk=tenant_a.headshot.pk).approved
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "reject"), {"note": "Old logo"},
                                               format="json")
    assert response.status_code == 200
    stored = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert not stored.approved and stored.approved_at is None and stored.review_status == "rejected"


@pytest.mark.parametrize("payload", [{}, {"note": ""}, {"note": "   "}, {"note": "x" * 2001}])
def test_a_reject_without_a_usable_note_is_refused_and_changes_nothing(tenant_a, payload):
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "reject"), payload,
                                               format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert Headshot.objects.get(pk=tenant_a.headshot.pk).review_status == ReviewStatus.PENDING


def test_regenerate_queues_a_new_request_with_the_same_kit_version_and_keeps_the_note(
        tenant_a, redis_broker, django_capture_on_commit_callbacks):
    ready_for_another_request(tenant_a)
    old_version = tenant_a.headshot.brand_kit_version
    # The kit moved on since this headshot was made; the regeneration must still use the headshot's version.
    brand_kit_update(kit=tenant_a.kit, spec={"background": {"kind": "solid", "color": "#aa0000"}})
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "regenerate"),
                                                   {"note": "Background too dark"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["headshot"]["review_status"] == "rejected"
    assert body["headshot"]["review_note"] == "Background too dark"
    request = GenerationRequest.objects.get(pk=body["request"]["id"])
    assert request.status == RequestStatus.QUEUED and request.employee_id == tenant_a.employee.pk
    assert request.brand_kit_version_id == old_version.pk and body["request"]["brand_kit_version"] == 1
    assert request.regenerated_from_id == tenant_a.headshot.pk and request.review_note == "Background too dark"
    assert request.created_by_id == tenant_a.admin.pk
    # The job really went onto the queue the workers read.
    assert redis_broker.client.llen(f"{redis_broker.namespace}:generation") == 1


def test_regenerate_while_a_request_is_running_is_refused_and_nothing_changes(tenant_a):
    ready_for_another_request(tenant_a)
    GenerationRequest.objects.create(organization=tenant_a.org, employee=tenant_a.employee,
                                     brand_kit_version=tenant_a.kit.current_version, status=RequestStatus.RUNNING)
    before = GenerationRequest.objects.count()
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "regenerate"),
                                               {"note": "Try again"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "request_in_progress"
    assert GenerationRequest.objects.count() == before
    assert Headshot.objects.get(pk=tenant_a.headshot.pk).review_status == ReviewStatus.PENDING


def test_employees_cannot_review(tenant_a):
    for action in ("reject", "regenerate"):
        response = client_for(tenant_a.employee_user).post(url(tenant_a, tenant_a.headshot.pk, action),
                                                           {"note": "mine"}, format="json")
        assert response.status_code == 403
    assert Headshot.objects.get(pk=tenant_a.headshot.pk).review_status == ReviewStatus.PENDING


def test_the_headshot_list_shows_review_fields(tenant_a):
    headshot_review_approve(headshot=tenant_a.headshot, actor=tenant_a.admin, note="Great")
    rows = client_for(tenant_a.admin).get(tenant_url("headshot-list", tenant_a.org)).json()["results"]
    assert [(r["review_status"], r["review_note"], r["approved"]) for r in rows] == [("approved", "Great", True)]


def test_approving_through_the_api_records_the_review_like_the_portal(tenant_a):
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "approve"),
                                               {"note": "Sharp and on brand"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["approved"] is True and body["approved_at"]
    assert body["review_status"] == "approved" and body["review_note"] == "Sharp and on brand"
    assert body["reviewed_by"] == tenant_a.admin.pk and body["reviewed_at"]
    stored = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert stored.approved and stored.review_status == ReviewStatus.APPROVED
    assert stored.reviewed_by_id == tenant_a.admin.pk


def test_withdrawing_an_approval_through_the_api_sends_it_back_to_review(tenant_a):
    client = client_for(tenant_a.admin)
    assert client.post(url(tenant_a, tenant_a.headshot.pk, "approve"), {}, format="json").status_code == 200
    response = client.post(url(tenant_a, tenant_a.headshot.pk, "approve"), {"approved": False}, format="json")
    assert response.status_code == 200, response.content
    stored = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert not stored.approved and stored.approved_at is None
    assert stored.review_status == ReviewStatus.PENDING and stored.reviewed_by_id == tenant_a.admin.pk


def test_an_approval_note_over_the_limit_is_refused_and_changes_nothing(tenant_a):
    response = client_for(tenant_a.admin).post(url(tenant_a, tenant_a.headshot.pk, "approve"),
                                               {"note": "x" * 2001}, format="json")
    assert response.status_code == 400 and response.json()["detail"]
    stored = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert not stored.approved and stored.review_status == ReviewStatus.PENDING
