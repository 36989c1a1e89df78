"""Retention per organization: each one sets how long biometric data outlives an approval (1 day to 3 years)."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from teams.models import GenerationRequest, Headshot, IdentityProfile, RequestStatus, Selfie, SelfieEmbedding
from tenancy.models import Role
from tests.factories import client_for, make_brand_kit, make_employee, make_org, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def approved_person(org, approved_days_ago: float, now):
    """An employee with two selfies (+ embeddings, profile) and a headshot approved `approved_days_ago` days ago."""
    employee = make_employee(org)
    kit = make_brand_kit(org)
    selfies = []
    for n in (1, 2):
        selfie = Selfie(organization=org, employee=employee, checksum=f"{org.pk:032d}{n:032d}", size_bytes=3)
        selfie.file.save(f"{n}.png", ContentFile(b"png"), save=False)
        selfie.save()
        SelfieEmbedding.objects.create(organization=org, employee=employee, selfie=selfie, model="m", vector=[0.5])
        Selfie.objects.filter(pk=selfie.pk).update(uploaded_at=now - timedelta(days=60))  # before approval
        selfies.append(selfie)
    IdentityProfile.objects.create(organization=org, employee=employee, model="m", profile={"centre": [0.5]})
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot.objects.create(organization=org, request=request, employee=employee,
                                       brand_kit_version=kit.current_version, variant="v",
                                       idempotency_key=f"k{employee.pk}", width=1, height=1, file="orgs/x/h.png",
                                       approved=True, approved_at=now - timedelta(days=approved_days_ago))
    return employee, selfies, headshot


def purge(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_biometrics")


def test_an_organization_with_7_days_purges_after_7_days_and_one_with_30_is_untouched(
        settings, django_capture_on_commit_callbacks):
    settings.BIOMETRIC_RETENTION_DAYS = 30
    short, default = make_org("Short", biometric_retention_days=7), make_org("Default")
    assert default.biometric_retention_days == 30
    now = timezone.now()
    short_person, short_selfies, short_headshot = approved_person(short, 6.9, now)
    long_person, long_selfies, long_headshot = approved_person(default, 6.9, now)
    files = [Path(settings.MEDIA_ROOT) / s.file.name for s in short_selfies]

    purge(django_capture_on_commit_callbacks)
    assert Selfie.objects.count() == 4  # 6.9 days: not yet due anywhere
    assert all(f.exists() for f in files)

    for headshot in (short_headshot, long_headshot):
        Headshot.objects.filter(pk=headshot.pk).update(approved_at=now - timedelta(days=7, minutes=1))
    purge(django_capture_on_commit_callbacks)
    assert not Selfie.objects.filter(employee=short_person).exists()
    assert not SelfieEmbedding.objects.filter(employee=short_person).exists()
    assert not IdentityProfile.objects.filter(employee=short_person).exists()
    assert not any(f.exists() for f in files)
    assert Headshot.objects.filter(pk=short_headshot.pk, approved=True).exists()  # approved headshots are kept
    # The 30-day organization keeps everything for another 23 days.
    assert Selfie.objects.filter(employee=long_person).count() == 2
    assert SelfieEmbedding.objects.filter(employee=long_person).count() == 2
    assert IdentityProfile.objects.filter(employee=long_person).exists()

    Headshot.objects.filter(pk=long_headshot.pk).update(approved_at=now - timedelta(days=30, minutes=1))
    purge(django_capture_on_commit_callbacks)
    assert not Selfie.objects.filter(employee=long_person).exists()
    assert Headshot.objects.filter(pk=long_headshot.pk, approved=True).exists()


def test_a_new_organization_takes_the_configured_default(settings):
    settings.BIOMETRIC_RETENTION_DAYS = 90
    assert make_org().biometric_retention_days == 90


def test_admins_set_the_retention_in_the_organization_settings_within_1_day_and_3_years(org_a):
    admin, employee = make_user(org_a, Role.ADMIN), make_user(org_a, Role.EMPLOYEE)
    url = tenant_url("organization-settings", org_a)
    assert client_for(admin).get(url).json()["biometric_retention_days"] == 30

    response = client_for(admin).patch(url, {"biometric_retention_days": 7}, format="json")
    assert response.status_code == 200 and response.json()["biometric_retention_days"] == 7
    org_a.refresh_from_db()
    assert org_a.biometric_retention_days == 7

    for bad in (0, 1096, -5, "forever"):
        response = client_for(admin).patch(url, {"biometric_retention_days": bad}, format="json")
        assert response.status_code == 400, bad
        assert "biometric_retention_days" in response.json()["errors"]
    assert client_for(admin).patch(url, {"biometric_retention_days": 1095}, format="json").status_code == 200
    assert client_for(employee).patch(url, {"biometric_retention_days": 1}, format="json").status_code == 403
    org_a.refresh_from_db()
    assert org_a.biometric_retention_days == 1095


def test_the_public_privacy_page_and_the_consent_text_state_the_organizations_own_period(client, org_a):
    org_a.biometric_retention_days = 14
    org_a.save()
    page = client.get(url_of("privacy:notice", org_a)).content.decode()
    assert page.count("14 days after your headshot is approved") >= 3  # both table rows and the consent text
    assert "30 days" not in page
