"""The selfie images both portals draw (the employee's own thumbnails, the reviewer's source selfie) are decoded the
way uploads are (inference.ingest): a stored file that is damaged, cut off, not a photo or gone gives a clear 404,
never a server error. Through the test client, so every middleware runs (a 500 would raise here)."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from teams.models import Selfie
from tests.api.conftest import populate
from tests.factories import grant_consent
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def jpeg(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 140, 120)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


BROKEN_FILES = {
    "not_an_image": b"%PDF-1.7 this is a document, not a photo",
    "truncated": jpeg()[:400],
    "corrupt": jpeg()[:200] + b"\x00" * 3000 + jpeg()[-200:],
    "empty": b"",
}


@pytest.fixture
def tenant(org_a):
    tenant = populate(org_a)
    grant_consent(tenant.employee)
    return tenant


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def urls(tenant) -> dict[str, tuple]:
    slug, pk = tenant.org.slug, tenant.selfie.pk
    return {"employee": (tenant.employee_user, url_of("portal:selfie-thumbnail", slug, pk)),
            "admin": (tenant.admin, url_of("portal:admin-selfie-image", slug, pk))}


def store(selfie: Selfie, data: bytes) -> None:
    selfie.file.save("broken.jpg", ContentFile(data), save=True)


@pytest.mark.parametrize("who", ["employee", "admin"])
def test_a_good_selfie_is_a_small_upright_jpeg(tenant, who):
    store(tenant.selfie, jpeg((1200, 900)))
    user, url = urls(tenant)[who]
    response = signed_in(user).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    data = b"".join(response.streaming_content) if response.streaming else response.content
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.size == (320, 240)


@pytest.mark.parametrize("who", ["employee", "admin"])
@pytest.mark.parametrize("kind", sorted(BROKEN_FILES))
def test_a_broken_stored_selfie_is_a_clear_404(tenant, who, kind):
    store(tenant.selfie, BROKEN_FILES[kind])
    user, url = urls(tenant)[who]
    response = signed_in(user).get(url)
    assert response.status_code == 404
    assert "image/jpeg" not in response["Content-Type"]


@pytest.mark.parametrize("who", ["employee", "admin"])
def test_a_selfie_whose_file_is_gone_is_a_clear_404(tenant, who):
    default_storage.delete(tenant.selfie.file.name)
    user, url = urls(tenant)[who]
    assert signed_in(user).get(url).status_code == 404
