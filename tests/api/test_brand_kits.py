"""Brand kits: admins create and edit them; every edit is a new version; bad specs get a clear 400."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from brand_kits.models import BrandKitVersion
from brand_kits.services import brand_spec_for
from inference.brand import BrandSpec
from tenancy.models import Role
from tests.factories import client_for, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


def kits_url(org) -> str:
    return tenant_url("brand-kit-list", org)


def test_admin_creates_a_kit_that_compiles_to_a_brand_spec(org_a, admin):
    spec = {"background": {"kind": "gradient", "color": "#112233", "color_to": "#445566"},
            "framing": {"aspect": 1.0, "eye_line": 0.4, "head_height": 0.45},
            "output_sizes": [800, 400], "color_grade": {"temperature": 0.2}, "lighting": "studio",
            "attire": "charcoal blazer"}
    response = client_for(admin).post(kits_url(org_a), {"name": "Blue", "spec": spec}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1
    version = BrandKitVersion.objects.get(kit_id=response.json()["id"])
    compiled = brand_spec_for(version)
    assert isinstance(compiled, BrandSpec)
    assert compiled.background.color_to == "#445566"
    assert compiled.framing.head_height == 0.45
    assert compiled.output_sizes == (800, 400)
    assert compiled.attire == "charcoal blazer"
    assert (compiled.name, compiled.version) == ("Blue", 1)


def test_an_edit_makes_a_new_version_and_keeps_the_old_one(org_a, admin):
    client = client_for(admin)
    kit = client.post(kits_url(org_a), {"name": "K", "spec": {}}, format="json").json()
    edited = client.patch(tenant_url("brand-kit-detail", org_a, kit["id"]), {"spec": {"framing": {"eye_line": 0.38}}},
                          format="json")
    assert edited.status_code == 200
    assert edited.json()["version"] == 2
    assert edited.json()["spec"]["framing"]["eye_line"] == 0.38
    # Only the named field changed; the rest of framing kept its values.
    assert edited.json()["spec"]["framing"]["aspect"] == kit["spec"]["framing"]["aspect"]
    versions = client.get(tenant_url("brand-kit-versions", org_a, kit['id'])).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["spec"]["framing"]["eye_line"] == kit["spec"]["framing"]["eye_line"]


@pytest.mark.parametrize("spec,fragment", [
    ({"framing": {"eye_line": 0.95}}, "eye_line"),
    ({"background": {"kind": "plaid"}}, "background.kind"),
    ({"background": {"kind": "solid", "color": "blue"}}, "#RRGGBB"),
    ({"output_sizes": [10]}, "output size"),
    ({"lighting": "disco"}, "lighting"),
    ({"colour_grade": {}}, "unknown brand spec field"),
    ({"background": {"kind": "image"}}, "background image"),
])
def test_bad_specs_are_refused_with_a_message_naming_the_field(org_a, admin, spec, fragment):
    response = client_for(admin).post(kits_url(org_a), {"name": "Bad", "spec": spec}, format="json")
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert not BrandKitVersion.objects.exists()


def test_uploaded_background_makes_an_image_kit(org_a, admin):
    client = client_for(admin)
    kit = client.post(kits_url(org_a), {"name": "Office", "spec": {}}, format="json").json()
    plate = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 180, 150)).save(plate, "JPEG")
    plate.seek(0)
    plate.name = "office.jpg"
    response = client.post(tenant_url("brand-kit-background", org_a, kit['id']), {"background_image": plate},
                           format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["spec"]["background"]["kind"] == "image"
    spec = brand_spec_for(BrandKitVersion.objects.get(kit_id=kit["id"], version=2))
    with Image.open(spec.background.image_path) as im:
        assert im.size == (300, 200)


def test_a_non_image_background_is_refused(org_a, admin):
    client = client_for(admin)
    kit = client.post(kits_url(org_a), {"name": "Office", "spec": {}}, format="json").json()
    fake = io.BytesIO(b"%PDF-1.4 not an image")
    fake.name = "plate.jpg"
    response = client.post(tenant_url("brand-kit-background", org_a, kit['id']), {"background_image": fake},
                           format="multipart")
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in response.json()["detail"]
    assert BrandKitVersion.objects.filter(kit_id=kit["id"]).count() == 1


def test_deleting_a_kit_archives_it_and_keeps_its_versions(org_a, admin):
    client = client_for(admin)
    kit = client.post(kits_url(org_a), {"name": "Old", "spec": {}}, format="json").json()
    assert client.delete(tenant_url("brand-kit-detail", org_a, kit['id'])).status_code == 204
    assert client.get(kits_url(org_a)).json()["results"] == []
    assert BrandKitVersion.objects.filter(kit_id=kit["id"]).count() == 1


def test_admin_starts_a_kit_from_an_industry_preset_and_overrides_a_field(org_a, admin):
    client = client_for(admin)
    presets = client.get(tenant_url("brand-kit-presets", org_a)).json()
    names = {p["name"] for p in presets}
    assert names == {"corporate_finance", "creative", "healthcare", "real_estate", "tech", "legal", "education"}
    healthcare = next(p for p in presets if p["name"] == "healthcare")
    assert healthcare["description"]
    response = client.post(kits_url(org_a), {"name": "Clinic", "preset": "healthcare",
                                             "spec": {"framing": {"eye_line": 0.41}}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["preset"] == "healthcare"
    assert body["spec"]["framing"]["eye_line"] == 0.41
    assert body["spec"]["lighting"] == healthcare["brand"]["lighting"]
    assert body["spec"]["retouch"] == healthcare["brand"]["retouch"]


def test_an_unknown_preset_is_a_clear_400(org_a, admin):
    response = client_for(admin).post(kits_url(org_a), {"name": "X", "preset": "circus"}, format="json")
    assert response.status_code == 400
    assert "circus" in response.json()["detail"] and "healthcare" in response.json()["detail"]


@pytest.mark.parametrize("documented", ["technology", "Technology", "tech"])
def test_the_readme_preset_name_technology_starts_a_tech_kit(org_a, admin, documented):
    client = client_for(admin)
    tech = next(p for p in client.get(tenant_url("brand-kit-presets", org_a)).json() if p["name"] == "tech")
    response = client.post(kits_url(org_a), {"name": "Engineering", "preset": documented}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["preset"] == "tech"
    assert body["spec"]["lighting"] == tech["brand"]["lighting"]
    assert body["spec"]["retouch"] == tech["brand"]["retouch"]
