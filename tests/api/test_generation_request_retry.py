"""An admin retries a failed generation request through the API: POST generation-requests/<id>/retry."""
from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from teams.models import GenerationRequest, RequestStatus
from tests.factories import client_for, grant_consent

pytestmark = pytest.mark.django_db

ENDPOINT = "api:tenant:generation-request-retry"


def retry_url(org, request_id: int) -> str:
    return reverse(ENDPOINT, kwargs={"org_slug": org.slug, "request_id": request_id})


def failed(request: GenerationRequest, error: str = "Ray was unreachable.") -> GenerationRequest:
    GenerationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.FAILED, error=error)
    request.refresh_from_db()
    return request


def test_admin_retries_a_failed_request_and_it_is_queued_again(tenant_a, django_capture_on_commit_callbacks):
    request = failed(tenant_a.request)
    grant_consent(tenant_a.employee)
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(tenant_a.admin).post(retry_url(tenant_a.org, request.pk))
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["id"] == request.pk
    assert body["status"] == RequestStatus.QUEUED
    assert body["error"] == ""
    request.refresh_from_db()
    assert request.status == RequestStatus.QUEUED
    assert request.error == ""
    assert len(queued) == 1  # the job is sent once the retry commits
    retried = AuditEvent.objects.get(action="generation.retried")
    assert (retried.organization_id, retried.actor_id) == (tenant_a.org.pk, str(tenant_a.admin.pk))
    assert retried.detail == {"employee_id": tenant_a.employee.pk, "previous_error": "Ray was unreachable."}


def test_without_standing_consent_a_retry_is_refused_like_a_new_request(tenant_a, django_capture_on_commit_callbacks):
    request = failed(tenant_a.request, error="Consent to process your face data was withdrawn.")
    with django_capture_on_commit_callbacks() as queued:
        response = client_for(tenant_a.admin).post(retry_url(tenant_a.org, request.pk))
    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert queued == [] and not AuditEvent.objects.filter(action="generation.retried").exists()


@pytest.mark.parametrize("status", [RequestStatus.DONE, RequestStatus.QUEUED, RequestStatus.RUNNING])
def test_only_a_failed_request_can_be_retried(tenant_a, status):
    GenerationRequest.objects.filter(pk=tenant_a.request.pk).update(status=status)
    response = client_for(tenant_a.admin).post(retry_url(tenant_a.org, tenant_a.request.pk))
    assert response.status_code == 409
    assert response.json() == {"code": "not_failed",
                               "detail": f"Only a failed request can be retried; this one is {status}."}
    tenant_a.request.refresh_from_db()
    assert tenant_a.request.status == status


def test_an_employee_cannot_retry_even_their_own_request(tenant_a):
    request = failed(tenant_a.request)
    response = client_for(tenant_a.employee_user).post(retry_url(tenant_a.org, request.pk))
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED


def test_another_organizations_admin_gets_404_and_nothing_changes(tenant_a, tenant_b):
    request = failed(tenant_a.request)
    # tenant_b's admin names tenant_a's request under their own organization: not found, not "not failed".
    response = client_for(tenant_b.admin).post(retry_url(tenant_b.org, request.pk))
    assert response.status_code == 404
    # ... and under tenant_a's slug they are not a member: 404 too (slugs can't be probed).
    response = client_for(tenant_b.admin).post(retry_url(tenant_a.org, request.pk))
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert request.error == "Ray was unreachable."


def test_an_unknown_request_id_is_404(tenant_a):
    response = client_for(tenant_a.admin).post(retry_url(tenant_a.org, 2**31 - 1))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
