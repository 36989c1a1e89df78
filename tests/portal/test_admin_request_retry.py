"""The review queue's failed generation requests and their Retry
(teams.generation_requests.generation_request_retry), through the test client with CSRF checks on: admins of the
organization only, POST only, and nothing changes otherwise."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from consent.models import Consent
from consent.services import consent_current
from teams import jobs
from teams.models import GenerationRequest, RequestStatus
from tenancy.models import Role
from tests.api.conftest import populate
from tests.factories import grant_consent, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db

ERROR = "The GPU cluster could not be reached; nothing was lost."


def failed_request(tenant) -> GenerationRequest:
    return GenerationRequest.objects.create(
        organization=tenant.org, employee=tenant.employee, brand_kit_version=tenant.kit.current_version,
        status=RequestStatus.FAILED, error=ERROR, attempts=3, finished_at=timezone.now())


@pytest.fixture
def tenant_a(org_a):
    tenant = populate(org_a)
    grant_consent(tenant.employee)  # a retry, like a new request, needs the employee's standing consent
    return tenant


@pytest.fixture
def sent(monkeypatch) -> list:
    """Job messages the retry hands to the broker (after the commit)."""
    messages = []
    monkeypatch.setattr(jobs.generate_headshots, "send", lambda request_id: messages.append(request_id))
    return messages


def client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def review(tenant) -> str:
    return url_of("portal:admin-review", tenant.org)


def retry_url(tenant, generation) -> str:
    return url_of("portal:admin-request-retry", tenant.org, generation.pk)


def csrf_token(client, tenant) -> str:
    page = client.get(review(tenant)).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def unchanged(generation) -> bool:
    fresh = GenerationRequest.objects.get(pk=generation.pk)
    return fresh.status == RequestStatus.FAILED and fresh.error == ERROR


def test_a_failed_request_is_listed_with_its_reason_and_retry_queues_it_again(
        tenant_a, sent, django_capture_on_commit_callbacks):
    generation = failed_request(tenant_a)
    admin = client_for(tenant_a.admin)
    page = admin.get(review(tenant_a)).content.decode()
    assert "Failed requests" in page and ERROR in page and f'action="{retry_url(tenant_a, generation)}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(retry_url(tenant_a, generation), {"csrfmiddlewaretoken": csrf_token(admin, tenant_a)})
    assert response.status_code == 302 and response["Location"] == review(tenant_a)
    generation.refresh_from_db()
    assert generation.status == RequestStatus.QUEUED and generation.error == ""
    assert sent == [generation.pk]
    retried = AuditEvent.objects.get(action="generation.retried")
    assert (retried.actor_id, retried.object_id) == (str(tenant_a.admin.pk), str(generation.pk))
    assert retried.detail["previous_error"] == ERROR
    page = admin.get(review(tenant_a)).content.decode()
    assert f"{tenant_a.employee.name}’s headshots are being made again." in page
    assert f'action="{retry_url(tenant_a, generation)}"' not in page


def test_another_organizations_admin_gets_404_and_nothing_changes(tenant_a, org_b, sent,
                                                                  django_capture_on_commit_callbacks):
    generation = failed_request(tenant_a)
    tenant_b = populate(org_b)
    outsider = client_for(tenant_b.admin)
    token = csrf_token(outsider, tenant_b)
    with django_capture_on_commit_callbacks(execute=True):
        # Their own organization's URL with our request's id, and our organization's URL.
        assert outsider.post(retry_url(tenant_b, generation), {"csrfmiddlewaretoken": token}).status_code == 404
        assert outsider.post(retry_url(tenant_a, generation), {"csrfmiddlewaretoken": token}).status_code == 404
    assert unchanged(generation) and sent == []
    assert ERROR not in outsider.get(review(tenant_b)).content.decode()


def test_employees_get_403_and_anonymous_visitors_the_login_page(tenant_a, sent, django_capture_on_commit_callbacks):
    generation = failed_request(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        employee = client_for(make_user(tenant_a.org, Role.EMPLOYEE))
        employee.cookies.load({"csrftoken": "x" * 32})
        assert employee.post(retry_url(tenant_a, generation), {"csrfmiddlewaretoken": "x" * 32}).status_code == 403
        anonymous = client_for(None)
        anonymous.cookies.load({"csrftoken": "x" * 32})
        response = anonymous.post(retry_url(tenant_a, generation), {"csrfmiddlewaretoken": "x" * 32})
        assert response.status_code == 302 and "/login" in response["Location"]
    assert unchanged(generation) and sent == []


def test_without_the_csrf_token_or_by_get_nothing_is_retried(tenant_a, sent, django_capture_on_commit_callbacks):
    generation = failed_request(tenant_a)
    admin = client_for(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(retry_url(tenant_a, generation)).status_code == 403
        assert admin.get(retry_url(tenant_a, generation)).status_code == 405
    assert unchanged(generation) and sent == []


def test_a_request_that_did_not_fail_is_refused_with_a_message(tenant_a, sent, django_capture_on_commit_callbacks):
    done = failed_request(tenant_a)
    GenerationRequest.objects.filter(pk=done.pk).update(status=RequestStatus.DONE, error="")
    admin = client_for(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(retry_url(tenant_a, done), {"csrfmiddlewaretoken": csrf_token(admin, tenant_a)},
                              follow=True)
    assert "Only a failed request can be retried" in response.content.decode()
    assert GenerationRequest.objects.get(pk=done.pk).status == RequestStatus.DONE and sent == []


def test_a_failed_request_followed_by_a_newer_one_is_not_offered(tenant_a):
    old = failed_request(tenant_a)
    newer = failed_request(tenant_a)
    page = client_for(tenant_a.admin).get(review(tenant_a)).content.decode()
    assert f'action="{retry_url(tenant_a, newer)}"' in page and f'action="{retry_url(tenant_a, old)}"' not in page


def test_without_standing_consent_the_retry_is_refused_with_the_reason(tenant_a, sent,
                                                                       django_capture_on_commit_callbacks):
    generation = failed_request(tenant_a)
    # Withdrawn (the withdrawal itself also deleted the selfies): nothing biometric may run again.
    Consent.objects.filter(pk=consent_current(tenant_a.employee).pk).update(withdrawn_at=timezone.now())
    admin = client_for(tenant_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(retry_url(tenant_a, generation), {"csrfmiddlewaretoken": csrf_token(admin, tenant_a)})
    assert response.status_code == 302
    generation.refresh_from_db()
    assert generation.status == RequestStatus.FAILED and generation.error == ERROR
    assert sent == [] and not AuditEvent.objects.filter(action="generation.retried").exists()
    assert "agree to the processing of your face data" in admin.get(review(tenant_a)).content.decode()
