"""Consent to biometric processing: nothing is processed before it, and withdrawing it deletes the biometric data."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings

from consent.models import Consent
from consent.services import consent_current, consent_grant
from consent.texts import CONSENT_VERSION, consent_text
from privacy.services import consent_withdraw
from teams.models import GenerationRequest, Headshot, IdentityProfile, RequestStatus, Selfie, SelfieEmbedding
from tenancy.models import Role
from tests.conftest import dev_face
from tests.factories import client_for, grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def employee_user(org_a):
    org_a.selfies_required = 3
    org_a.save()
    user = make_user(org_a, Role.EMPLOYEE)
    make_employee(org_a, user)
    return user


def named(path: Path) -> io.BytesIO:
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    return handle


def upload(org, user, *paths):
    return client_for(user).post(tenant_url("my-selfie-list", org), {"files": [named(p) for p in paths]},
                                 format="multipart")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_consent_text_says_what_is_processed_by_whom_and_for_how_long(org_a):
    org_a.biometric_retention_days = 45  # each organization's own retention period
    text = consent_text(org_a)
    body = text.body
    assert text.version == CONSENT_VERSION
    for words in ("face embedding", "landmarks", "Acme", "45 days after your headshot is approved",
                  "until you leave", "withdraw"):
        assert words in body
    assert len(text.sha256) == 64 and text.sha256 != consent_text(org_a.__class__(name="Other")).sha256


def test_upload_before_consent_is_refused_with_403_and_nothing_is_stored(org_a, employee_user):
    response = upload(org_a, employee_user, dev_face("barack_obama", 1))
    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert not Selfie.objects.exists() and not SelfieEmbedding.objects.exists()
    assert stored_files() == []


def test_generation_before_consent_is_refused(org_a, employee_user):
    make_brand_kit(org_a)
    response = client_for(employee_user).post(tenant_url("my-generation-request-list", org_a), {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "consent_required"
    assert not GenerationRequest.objects.exists()


@pytest.mark.slow
def test_after_consent_uploads_work(org_a, employee_user):
    api = client_for(employee_user)
    url = tenant_url("my-consent", org_a)
    state = api.get(url).json()
    assert state["granted"] is False and state["text"]["version"] == CONSENT_VERSION
    granted = api.post(url, HTTP_USER_AGENT="Mozilla/5.0 (Phone)", REMOTE_ADDR="10.1.2.3")
    assert granted.status_code == 201 and granted.json()["granted"] is True
    consent = Consent.objects.get()
    assert (consent.ip_address, consent.user_agent, consent.channel) == ("10.1.2.3", "Mozilla/5.0 (Phone)", "api")
    assert consent.text_sha256 == consent_text(org_a).sha256 and consent.user == employee_user
    assert api.get(url).json()["granted"] is True

    response = upload(org_a, employee_user, dev_face("barack_obama", 1), dev_face("barack_obama", 2))
    assert response.status_code == 201, response.json()
    assert len(response.json()["accepted"]) == 2


def test_granting_twice_keeps_one_standing_consent(org_a, employee_user):
    employee = employee_user.employee_records.get()
    first = consent_grant(employee=employee, user=employee_user, ip="127.0.0.1", user_agent="a", channel="portal")
    again = consent_grant(employee=employee, user=employee_user, ip="127.0.0.1", user_agent="b", channel="portal")
    assert first.pk == again.pk and Consent.objects.count() == 1


def test_consent_to_an_older_text_does_not_count(org_a, employee_user):
    employee = employee_user.employee_records.get()
    grant_consent(employee)
    Consent.objects.update(text_version="2020-01-1")
    assert consent_current(employee) is None
    assert upload(org_a, employee_user, dev_face("barack_obama", 1)).json()["code"] == "consent_required"


@pytest.mark.slow
def test_withdrawing_deletes_embeddings_profile_and_selfie_files_but_keeps_headshots(
        org_a, employee_user, django_capture_on_commit_callbacks):
    api = client_for(employee_user)
    employee = employee_user.employee_records.get()
    grant_consent(employee)
    faces = [dev_face("barack_obama", n) for n in (1, 2, 3)]
    assert upload(org_a, employee_user, *faces).status_code == 201
    kit = make_brand_kit(org_a)
    assert SelfieEmbedding.objects.filter(employee=employee).count() == 3
    assert IdentityProfile.objects.filter(employee=employee).exists()
    selfie_files = [Path(settings.MEDIA_ROOT) / s.file.name for s in Selfie.objects.all()]
    assert all(f.exists() for f in selfie_files)
    # A finished request with a headshot (stays), and a queued one (fails clearly).
    done = GenerationRequest.objects.create(organization=org_a, employee=employee,
                                            brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot.objects.create(organization=org_a, request=done, employee=employee,
                                       brand_kit_version=kit.current_version, source_selfie=Selfie.objects.first(),
                                       variant="standard", idempotency_key="k", width=1, height=1,
                                       file="orgs/x/headshot.png")
    queued = GenerationRequest.objects.create(organization=org_a, employee=employee,
                                              brand_kit_version=kit.current_version, status=RequestStatus.QUEUED)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(tenant_url("my-consent", org_a))
    assert response.status_code == 200
    assert response.json()["granted"] is False and response.json()["withdrawn_selfies"] == 3

    assert not Selfie.objects.filter(employee=employee).exists()
    assert not SelfieEmbedding.objects.filter(employee=employee).exists()
    assert not IdentityProfile.objects.filter(employee=employee).exists()
    assert not any(f.exists() for f in selfie_files)
    headshot.refresh_from_db()
    assert headshot.source_selfie is None  # the headshot stays, without its (deleted) source
    queued.refresh_from_db()
    assert queued.status == RequestStatus.FAILED and "withdrawn" in queued.error
    # Evidence of the withdrawal is kept; a new upload needs consent again.
    assert Consent.objects.get().withdrawn_at is not None
    assert upload(org_a, employee_user, faces[0]).status_code == 403


def test_the_job_fails_a_request_whose_consent_was_withdrawn_without_processing(org_a, employee_user):
    from teams.generation import generation_run

    employee = employee_user.employee_records.get()
    grant_consent(employee)
    kit = make_brand_kit(org_a)
    request = GenerationRequest.objects.create(organization=org_a, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.QUEUED)
    consent_withdraw(employee=employee, user=employee_user)
    GenerationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.QUEUED)  # as if already in Redis
    # No Ray pool exists in this test: the job must stop before it would reach the pipeline.
    generation_run(request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED and "consent" in request.error
    assert request.attempts == 0 and not request.headshots.exists()


def test_a_rollout_skips_employees_without_consent(org_a):
    from django.core.files.base import ContentFile

    from rollouts.services import rollout_start

    org_a.selfies_required = 1
    org_a.save()
    make_brand_kit(org_a)
    consenting, refusing = make_employee(org_a, name="Yes"), make_employee(org_a, name="No")
    grant_consent(consenting)
    for n, employee in enumerate((consenting, refusing)):
        selfie = Selfie(organization=org_a, employee=employee, checksum=f"{n:064d}", size_bytes=3)
        selfie.file.save("s.png", ContentFile(b"png"), save=False)
        selfie.save()
    rollout = rollout_start(organization=org_a, created_by=None, scope="all")
    assert rollout.skipped == [{"employee_id": refusing.pk, "reason": "consent_required"}]
    assert list(GenerationRequest.objects.values_list("employee_id", flat=True)) == [consenting.pk]


def test_the_privacy_notice_is_public(client, org_a, settings):
    settings.BIOMETRIC_RETENTION_DAYS = 30
    response = client.get(url_of("privacy:notice", org_a))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme" in page and "30 days after your headshot is approved" in page and "face embedding" in page
    assert client.get(url_of("privacy:notice", 'no-such-org')).status_code == 404


def test_retention_deletes_the_selfies_of_an_approved_set_after_the_retention_period(
        org_a, employee_user, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.utils import timezone

    settings.BIOMETRIC_RETENTION_DAYS = 30
    employee = employee_user.employee_records.get()
    kit = make_brand_kit(org_a)
    now = timezone.now()

    def selfie(n: int, uploaded_at) -> Selfie:
        row = Selfie(organization=org_a, employee=employee, checksum=f"{n:064d}", size_bytes=3)
        row.file.save(f"{n}.png", ContentFile(b"png"), save=False)
        row.save()
        SelfieEmbedding.objects.create(organization=org_a, employee=employee, selfie=row, model="m", vector=[0.0])
        Selfie.objects.filter(pk=row.pk).update(uploaded_at=uploaded_at)
        return row

    old = [selfie(n, now - timedelta(days=40)) for n in (1, 2)]
    retake = selfie(3, now - timedelta(days=5))  # uploaded after the approval: not yet due
    IdentityProfile.objects.create(organization=org_a, employee=employee, model="m", profile={"centre": [0.0]})
    request = GenerationRequest.objects.create(organization=org_a, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot.objects.create(organization=org_a, request=request, employee=employee,
                                       brand_kit_version=kit.current_version, variant="v", idempotency_key="k",
                                       width=1, height=1, file="orgs/x/h.png", approved=True,
                                       approved_at=now - timedelta(days=29))
    old_files = [Path(settings.MEDIA_ROOT) / s.file.name for s in old]

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_biometrics")
    assert Selfie.objects.count() == 3  # 29 days after approval: kept

    Headshot.objects.filter(pk=headshot.pk).update(approved_at=now - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_biometrics")
    assert list(Selfie.objects.all()) == [retake]
    assert list(SelfieEmbedding.objects.values_list("selfie_id", flat=True)) == [retake.pk]
    assert not any(f.exists() for f in old_files)
    assert Headshot.objects.filter(pk=headshot.pk, approved=True).exists()
