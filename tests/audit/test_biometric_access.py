"""Every access to face data is on record: selfie images shown, selfies and identity profiles read by the generation
job, headshot files fetched, biometric data deleted; and no event holds a person's name or email."""
from __future__ import annotations

import pytest
from django.db.models import Q
from django.test import Client

from audit.models import AuditEvent
from audit.services import record
from privacy.services import consent_withdraw
from teams.headshots import headshot_approve
from teams.models import GenerationRequest, IdentityProfile, RequestStatus
from tests.factories import client_for, grant_consent, make_brand_kit
from tests.integrations.test_directory_api import key_for, with_real_photo
from tests.rollouts.conftest import ready_employee, use_standin
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def portal_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_reviewer_looking_at_a_selfie_is_recorded(tenant_a):
    url = url_of("portal:admin-selfie-image", tenant_a.org, tenant_a.selfie.pk)
    assert portal_client(tenant_a.admin).get(url).status_code == 200
    [event] = AuditEvent.objects.filter(action="selfie.viewed")
    assert (event.actor_type, event.actor_id, event.organization_id) == ("user", str(tenant_a.admin.pk),
                                                                           tenant_a.org.pk)
    assert (event.object_type, event.object_id, event.status_code) == ("selfie", str(tenant_a.selfie.pk), 200)
    assert event.detail == {"route": "portal:admin-selfie-image"}


def test_an_employee_looking_at_their_own_selfie_is_recorded_and_a_refusal_is_not_a_view(tenant_a, tenant_b):
    grant_consent(tenant_a.employee)
    url = url_of("portal:selfie-thumbnail", tenant_a.org, tenant_a.selfie.pk)
    assert portal_client(tenant_a.employee_user).get(url).status_code == 200
    assert portal_client(tenant_b.admin).get(url).status_code in (302, 403, 404)
    [event] = AuditEvent.objects.filter(action="selfie.viewed")
    assert (event.actor_id, event.object_id) == (str(tenant_a.employee_user.pk), str(tenant_a.selfie.pk))


def test_headshot_file_reads_are_recorded_for_members_and_api_keys(tenant_a):
    with_real_photo(tenant_a.headshot)
    headshot_approve(headshot=tenant_a.headshot)
    url = tenant_url("headshot-file", tenant_a.org, tenant_a.headshot.pk)
    assert client_for(tenant_a.employee_user).get(url).status_code == 200
    hris = key_for(tenant_a.org)
    headshot = url_of("integrations:directory-employee-headshot", tenant_a.employee.external_id)
    assert hris.get(headshot).status_code == 200
    member, key = AuditEvent.objects.filter(action="headshot.viewed").order_by("id")
    assert (member.actor_type, member.actor_id, member.organization_id) == (
        "user", str(tenant_a.employee_user.pk), tenant_a.org.pk)
    assert (key.actor_type, key.organization_id, key.object_id) == ("api_key", tenant_a.org.pk,
                                                                     str(tenant_a.headshot.pk))


def test_the_generation_job_records_whose_face_data_it_read(org_a, local_ray, settings):
    from teams.generation import generation_run

    use_standin(settings)
    org_a.selfies_required = 1
    org_a.save()
    kit = make_brand_kit(org_a, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256],
                         variants_per_person=1)
    person, colleague = ready_employee(org_a, 1), ready_employee(org_a, 2)
    IdentityProfile.objects.create(organization=org_a, employee=colleague, model="test",
                                   profile={"centre": [0.1] * 8, "radius": 0.2})
    request = GenerationRequest.objects.create(organization=org_a, employee=person, status=RequestStatus.QUEUED,
                                               brand_kit_version=kit.current_version)
    request.selfies.set(person.selfies.all())

    assert generation_run(request.pk).status == RequestStatus.DONE
    reads = {e.object_id: e for e in AuditEvent.objects.filter(action="biometric.read")}
    assert set(reads) == {str(person.pk), str(colleague.pk)}
    own, profile = reads[str(person.pk)], reads[str(colleague.pk)]
    assert own.detail == {"data": "selfies", "selfie_ids": [s.pk for s in person.selfies.order_by("id")],
                          "purpose": "generation", "generation_request_id": request.pk}
    assert profile.detail["data"] == "identity_profile"
    assert {own.actor_type, profile.actor_type} == {"system"}
    assert {own.organization_id, profile.organization_id} == {org_a.pk}
    assert AuditEvent.objects.filter(action="generation.done", object_id=str(request.pk)).exists()


def test_withdrawing_consent_records_the_deletion_of_biometric_data(tenant_a):
    grant_consent(tenant_a.employee)
    consent_withdraw(employee=tenant_a.employee, user=tenant_a.employee_user)
    [event] = AuditEvent.objects.filter(action="biometric.deleted")
    assert (event.actor_id, event.object_type, event.object_id) == (
        str(tenant_a.employee_user.pk), "employee", str(tenant_a.employee.pk))
    assert event.detail == {"reason": "consent_withdrawn", "selfies_deleted": 1}


@pytest.mark.django_db(transaction=True)
def test_no_event_holds_the_persons_email_or_name_after_a_typical_flow(tenant_a):
    """Create, edit, view, approve, withdraw, delete: the log keeps ids and field names, never who the person is."""
    org, admin = tenant_a.org, client_for(tenant_a.admin)
    created = admin.post(tenant_url("employee-list", org), {"name": "Zelda Quarterman", "email": "zelda.q@example.com",
                                               "title": "Analyst"}, format="json")
    assert created.status_code == 201, created.content
    employee_id = created.json()["id"]
    assert admin.patch(tenant_url("employee-detail", org, employee_id), {"name": "Zelda Q. Quarterman"},
                       format="json").status_code == 200
    portal_client(tenant_a.admin).get(url_of("portal:admin-selfie-image", org, tenant_a.selfie.pk))
    grant_consent(tenant_a.employee)
    assert client_for(tenant_a.employee_user).delete(tenant_url("my-consent", org)).status_code == 200
    assert admin.delete(tenant_url("employee-detail", org, employee_id)).status_code == 204

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"http.post", "http.patch", "http.delete", "employee.created", "employee.updated", "employee.deleted",
            "selfie.viewed", "biometric.deleted"} <= actions
    for needle in ("zelda", "quarterman", tenant_a.employee.email, tenant_a.employee.name, tenant_a.admin.email):
        assert not holds(needle), needle
    # The search itself finds a value put anywhere in an event.
    record(action="test.canary", actor="system", detail={"note": ["canary-value@example.com"]})
    assert holds("CANARY-value@example.com")


def holds(needle: str) -> bool:
    text = Q()
    for column in ("actor_id", "action", "object_type", "object_id", "request_id", "detail"):
        text |= Q(**{f"{column}__icontains": needle})
    return AuditEvent.objects.filter(text).exists()


def test_the_retention_purge_records_each_persons_deleted_biometric_data(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    from privacy.services import biometric_purge_expired
    from teams.models import Headshot, Selfie

    long_ago = timezone.now() - timedelta(days=400)
    Selfie.objects.filter(pk=tenant_a.selfie.pk).update(uploaded_at=long_ago - timedelta(days=1))
    Headshot.objects.filter(pk=tenant_a.headshot.pk).update(approved=True, approved_at=long_ago)
    assert biometric_purge_expired() == 1
    [event] = AuditEvent.objects.filter(action="biometric.deleted")
    assert (event.actor_type, event.organization_id, event.object_id) == ("system", tenant_a.org.pk,
                                                                          str(tenant_a.employee.pk))
    assert event.detail == {"reason": "retention", "selfies_deleted": 1}


def test_every_selfie_image_route_named_by_the_middleware_exists():
    from django.urls import reverse

    from audit.middleware import SELFIE_IMAGE_ROUTES

    for name, parameter in SELFIE_IMAGE_ROUTES.items():
        assert reverse(name, kwargs={"org_slug": "acme", parameter: 1}).endswith(".jpg")
