"""Selfie uploads: each photo gets its own verdict; good ones are stored untouched, bad ones leave nothing behind."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from teams.models import Selfie
from tenancy.models import Role
from tests.conftest import NEGATIVES, dev_face
from tests.factories import client_for, grant_consent, make_employee, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def employee_user(org_a):
    user = make_user(org_a, Role.EMPLOYEE)
    grant_consent(make_employee(org_a, user))
    return user


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def upload(org, user, *files):
    return client_for(user).post(tenant_url("my-selfie-list", org), {"files": list(files)}, format="multipart")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side pixels that is only a few KB on disk (a decompression bomb)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    raw = zlib.compress(row * side, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


GOOD = dev_face("barack_obama", 1)
BAD_INPUTS = {
    "not_an_image": ("notes.jpg", b"Hello, this is a text file pretending to be a photo.\n" * 20),
    "truncated_image": ("cut.jpg", GOOD.read_bytes()[: len(GOOD.read_bytes()) // 2]),
    "too_many_pixels": ("bomb.png", bomb_png()),
    "empty_file": ("empty.jpg", b""),
    "no_face": ("landscape.jpg", (NEGATIVES / "no_face_landscape.jpg").read_bytes()),
    "multiple_faces": ("two.jpg", (NEGATIVES / "two_faces_white_house.jpg").read_bytes()),
}


@pytest.mark.parametrize("reason", sorted(BAD_INPUTS))
def test_a_bad_photo_is_rejected_with_its_reason_and_nothing_is_stored(org_a, employee_user, reason):
    name, data = BAD_INPUTS[reason]
    response = upload(org_a, employee_user, named(data, name))
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == []
    assert body["rejected"][0]["file"] == name
    assert reason in body["rejected"][0]["reasons"]
    assert body["rejected"][0]["messages"] and all(m.strip() for m in body["rejected"][0]["messages"])
    assert not Selfie.objects.exists()
    assert stored_files() == []


def test_a_photo_with_a_microphone_over_the_chin_is_refused_with_the_tip(org_a, employee_user):
    from benchmarks.occluders import Occluder, draw
    from inference.face_detect import prominent_faces
    from inference.ingest import decode_image
    from inference.messages import REASON_MESSAGES
    from inference.selfie_qc import face_mesh_on_face
    from teams.selfie_checks import _pipeline

    pipeline = _pipeline()
    rgb = decode_image(GOOD.read_bytes()).rgb
    mesh = face_mesh_on_face(pipeline.mesher, rgb, prominent_faces(pipeline.faces.detect(rgb))[0])
    buffer = io.BytesIO()
    Image.fromarray(draw(rgb, mesh.xy(range(478)), Occluder("microphone", "chin", 0.5, 1))).save(buffer, "JPEG")
    response = upload(org_a, employee_user, named(buffer.getvalue(), "podium.jpg"))
    assert response.status_code == 400
    rejected = response.json()["rejected"][0]
    assert rejected["file"] == "podium.jpg" and "face_covered" in rejected["reasons"]
    assert REASON_MESSAGES["face_covered"] in rejected["messages"]
    assert "a microphone, hand or phone" in REASON_MESSAGES["face_covered"]
    assert not Selfie.objects.exists()


def test_good_photos_are_stored_untouched_beside_rejected_ones(org_a, employee_user):
    good = [dev_face("barack_obama", 1).read_bytes(), dev_face("barack_obama", 2).read_bytes()]
    response = upload(org_a, employee_user, named(good[0], "a.jpg"), named(BAD_INPUTS["no_face"][1], "b.jpg"),
                      named(good[1], "c.jpg"), named(b"", "d.jpg"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert [s["original_name"] for s in body["accepted"]] == ["a.jpg", "c.jpg"]
    assert [r["file"] for r in body["rejected"]] == ["b.jpg", "d.jpg"]
    for selfie, original in zip(Selfie.objects.order_by("id"), good, strict=True):
        assert selfie.checksum == hashlib.sha256(original).hexdigest()
        assert selfie.file.read() == original  # byte for byte: the original is never altered
    assert len(stored_files()) == 2


def test_the_same_photo_twice_is_stored_once(org_a, employee_user):
    data = dev_face("barack_obama", 1).read_bytes()
    assert upload(org_a, employee_user, named(data, "a.jpg")).status_code == 201
    again = upload(org_a, employee_user, named(data, "a-copy.jpg"))
    assert again.status_code == 400
    assert again.json()["rejected"][0]["reasons"] == ["duplicate"]
    assert Selfie.objects.count() == 1


def test_heic_selfies_are_accepted(org_a, employee_user):
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    with Image.open(dev_face("barack_obama", 2)) as im:
        im.convert("RGB").save(out, "HEIF")
    response = upload(org_a, employee_user, named(out.getvalue(), "IMG_0001.HEIC"))
    assert response.status_code == 201, response.content
    assert Selfie.objects.get().extension == ".heic"


def test_upload_without_files_is_a_clear_400(org_a, employee_user):
    response = client_for(employee_user).post(tenant_url("my-selfie-list", org_a), {}, format="multipart")
    assert response.status_code == 400
    assert "files" in response.json()["detail"]


def test_an_admin_without_an_employee_profile_gets_a_404_with_a_reason(org_a):
    admin = make_user(org_a, Role.ADMIN)
    response = upload(org_a, admin, named(GOOD.read_bytes(), "a.jpg"))
    assert response.status_code == 404
    assert "employee profile" in response.json()["detail"]


def test_a_photo_cut_off_just_below_the_chin_is_refused_with_the_tip(org_a, employee_user):
    from inference.face_detect import prominent_faces
    from inference.framing import estimate_head_height
    from inference.ingest import decode_image
    from inference.messages import REASON_MESSAGES
    from teams.selfie_checks import _pipeline

    rgb = decode_image(dev_face("barack_obama", 1).read_bytes()).rgb
    face = prominent_faces(_pipeline().faces.detect(rgb))[0]
    chin = face.eye_midpoint[1] + 0.5 * estimate_head_height(face)
    buffer = io.BytesIO()
    Image.fromarray(rgb[:int(chin + 0.05 * estimate_head_height(face))]).save(buffer, "JPEG")
    response = upload(org_a, employee_user, named(buffer.getvalue(), "tight.jpg"))
    assert response.status_code == 400
    rejected = response.json()["rejected"][0]
    assert rejected["reasons"] == ["cut_off_below_chin"]
    assert rejected["messages"] == [REASON_MESSAGES["cut_off_below_chin"]]
    assert not Selfie.objects.exists()


def test_a_photo_with_a_podium_microphone_below_the_face_is_kept_with_a_warning(org_a, employee_user):
    from inference.messages import REASON_MESSAGES

    podium = dev_face("barack_obama", 2)  # the demo's podium photo: a microphone under his chin, the face clear
    response = upload(org_a, employee_user, named(podium.read_bytes(), "podium.jpg"),
                      named(dev_face("barack_obama", 1).read_bytes(), "clean.jpg"))
    assert response.status_code == 201, response.content
    accepted = {s["original_name"]: s for s in response.json()["accepted"]}
    assert accepted["podium.jpg"]["warnings"] == [REASON_MESSAGES["microphone_below_face"]]
    assert accepted["clean.jpg"]["warnings"] == []
