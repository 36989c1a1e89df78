"""The selfie set as a whole: one person, no near-duplicates, and an identity profile kept in its own table."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.messages import REASON_MESSAGES
from teams.models import IdentityProfile, Selfie, SelfieEmbedding
from tenancy.models import Role
from tests.conftest import dev_face
from tests.factories import client_for, grant_consent, make_employee, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def employee_user(org_a):
    org_a.selfies_required = 3
    org_a.save()
    user = make_user(org_a, Role.EMPLOYEE)
    grant_consent(make_employee(org_a, user))
    return user


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def upload(org, user, *paths):
    files = [named(p.read_bytes(), f"{p.parent.name}-{p.name}") for p in paths]
    return client_for(user).post(tenant_url("my-selfie-list", org), {"files": files}, format="multipart")


def test_a_colleagues_photo_cannot_slip_into_the_set(org_a, employee_user):
    response = upload(org_a, employee_user, *[dev_face("angelina", n) for n in (1, 2, 3, 4)],
                      dev_face("katy_perry", 1))
    body = response.json()
    assert response.status_code == 201
    assert len(body["accepted"]) == 4
    assert body["rejected"] == [{"file": "katy_perry-1.jpg", "reasons": ["different_person"],
                                 "messages": [REASON_MESSAGES["different_person"]]}]
    assert Selfie.objects.count() == 4  # the colleague's photo is not kept
    assert body["set"] == {"in_set": 4, "required": 3, "max": 15, "ready": True}


def test_a_near_duplicate_is_refused(org_a, employee_user):
    upload(org_a, employee_user, dev_face("jack_dorsey", 1), dev_face("jack_dorsey", 2))
    with Image.open(dev_face("jack_dorsey", 1)) as im:
        out = io.BytesIO()
        im.convert("RGB").resize((im.width - 4, im.height - 4)).save(out, "JPEG", quality=80)  # a re-saved copy
    response = client_for(employee_user).post(tenant_url("my-selfie-list", org_a),
                                              {"files": [named(out.getvalue(), "copy.jpg")]}, format="multipart")
    assert response.status_code == 400
    assert response.json()["rejected"][0]["reasons"] == ["duplicate"]
    assert Selfie.objects.count() == 2


def test_the_identity_profile_is_the_robust_centre_of_the_set_and_follows_deletions(org_a, employee_user):
    upload(org_a, employee_user, *[dev_face("scarlett", n) for n in (1, 2, 3)])
    profile = IdentityProfile.objects.get()
    members = sorted(int(m) for m in profile.profile["members"])
    assert members == sorted(Selfie.objects.values_list("id", flat=True))
    vectors = np.array([e.vector for e in SelfieEmbedding.objects.all()])
    centre = np.array(profile.profile["centre"])
    assert np.linalg.norm(vectors - centre, axis=1).max() < 0.55
    # Biometric rows live apart from the photos and go with them.
    first = Selfie.objects.order_by("id").first()
    first_url = tenant_url("my-selfie-detail", org_a, first.pk)
    assert client_for(employee_user).delete(first_url).status_code == 204
    assert SelfieEmbedding.objects.count() == 2
    assert IdentityProfile.objects.get().profile["count"] == 2


def test_the_set_summary_says_when_the_set_is_ready(org_a, employee_user):
    url = tenant_url("my-selfie-list", org_a)
    upload(org_a, employee_user, dev_face("jennifer", 1), dev_face("jennifer", 3))
    assert client_for(employee_user).get(url).json()["set"]["ready"] is False
    upload(org_a, employee_user, dev_face("jennifer", 5))
    listing = client_for(employee_user).get(url).json()
    assert listing["set"] == {"in_set": 3, "required": 3, "max": 15, "ready": True}
    assert all(s["in_set"] and s["qc"]["sharpness"] > 0 for s in listing["selfies"])
