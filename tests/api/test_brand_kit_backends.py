"""A brand kit chooses who makes its headshots (klein, diffusion, studio, or the deployment's INFERENCE_BACKEND) and
may carry a style reference for klein; admins set both through the API and the kit editor, whose live preview says
which backend the kit uses."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from brand_kits.models import BrandKitVersion
from brand_kits.services import brand_spec_for
from tenancy.models import Role
from tests.api.conftest import png_bytes, populate
from tests.conftest import dev_face
from tests.factories import client_for, grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


def kit_url(org, kit_id) -> str:
    return tenant_url("brand-kit-detail", org, kit_id)


def headshot_file(name: str = "team.jpg") -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (240, 300), (90, 110, 140)).save(data, "JPEG")
    data.seek(0)
    data.name = name
    return data


def test_a_kit_may_ask_for_klein_and_a_default_kit_shows_the_deployments_backend(org_a, admin, settings):
    settings.INFERENCE_BACKEND, settings.MODEL_STORE = "klein", "/srv/models"
    client = client_for(admin)
    kit = client.post(tenant_url("brand-kit-list", org_a), {"name": "Default", "spec": {"backend": "default"}},
                      format="json").json()
    assert kit["backend"] == "klein" and kit["spec"]["backend"] == "default"
    studio = client.patch(kit_url(org_a, kit["id"]), {"spec": {"backend": "studio"}}, format="json").json()
    assert studio["backend"] == "studio"
    settings.INFERENCE_BACKEND = "studio"
    klein = client.patch(kit_url(org_a, kit["id"]), {"spec": {"backend": "klein"}}, format="json").json()
    assert klein["backend"] == "klein" and klein["version"] == 3
    bad = client.patch(kit_url(org_a, kit["id"]), {"spec": {"backend": "flux-dev"}}, format="json")
    assert bad.status_code == 400 and "backend must be one of default, studio, diffusion, klein" in bad.json()["detail"]


def test_a_style_reference_is_uploaded_kept_by_later_versions_compiled_and_removable(org_a, admin):
    client = client_for(admin)
    kit = client.post(tenant_url("brand-kit-list", org_a), {"name": "Team look", "spec": {"backend": "klein"}},
                      format="json").json()
    style_reference = tenant_url("brand-kit-style-reference", org_a, kit["id"])
    uploaded = client.post(style_reference, {"style_reference": headshot_file()}, format="multipart")
    assert uploaded.status_code == 200, uploaded.content
    assert uploaded.json()["version"] == 2 and uploaded.json()["style_reference"].endswith("style-reference.jpg")
    # An unrelated edit keeps it; the compiled spec points the klein backend at the file.
    client.patch(kit_url(org_a, kit["id"]), {"spec": {"lighting": "studio"}}, format="json")
    spec = brand_spec_for(BrandKitVersion.objects.get(kit_id=kit["id"], version=3))
    with Image.open(spec.style_reference) as im:
        assert im.size == (240, 300)
    assert "style_reference" not in BrandKitVersion.objects.get(kit_id=kit["id"], version=3).spec
    removed = client.delete(style_reference)
    assert removed.status_code == 200 and removed.json()["style_reference"] is None
    assert brand_spec_for(BrandKitVersion.objects.get(kit_id=kit["id"], version=4)).style_reference is None
    assert client.delete(style_reference).json()["version"] == 4  # nothing to remove
    # The version that had it still has it: old headshots stay explainable.
    assert brand_spec_for(BrandKitVersion.objects.get(kit_id=kit["id"], version=2)).style_reference


def test_a_style_reference_that_is_not_an_image_is_refused_and_nothing_is_stored(org_a, admin):
    client = client_for(admin)
    kit = client.post(tenant_url("brand-kit-list", org_a), {"name": "Team look", "spec": {}}, format="json").json()
    fake = io.BytesIO(b"%PDF-1.4 not an image")
    fake.name = "team.jpg"
    response = client.post(tenant_url("brand-kit-style-reference", org_a, kit['id']), {"style_reference": fake},
                           format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == "The style reference must be a JPEG, PNG or WebP image."
    assert BrandKitVersion.objects.filter(kit_id=kit["id"]).count() == 1


def test_another_organizations_admin_cannot_set_or_remove_a_style_reference(org_a, org_b, admin):
    kit = make_brand_kit(org_a)
    outsider = client_for(make_user(org_b, Role.ADMIN))
    assert outsider.post(tenant_url("brand-kit-style-reference", org_a, kit.pk),
                         {"style_reference": headshot_file()}, format="multipart").status_code == 404
    assert outsider.post(tenant_url("brand-kit-style-reference", org_b, kit.pk),
                         {"style_reference": headshot_file()}, format="multipart").status_code == 404
    assert outsider.delete(tenant_url("brand-kit-style-reference", org_b, kit.pk)).status_code == 404
    assert kit.versions.count() == 1


def test_a_klein_kit_on_a_deployment_without_a_model_store_is_refused_up_front(org_a, settings):
    from teams.errors import TeamsError
    from teams.generation_requests import generation_request_start
    from teams.selfies import selfies_upload

    settings.MODEL_STORE = None
    org_a.selfies_required = 1
    org_a.save()
    user = make_user(org_a, Role.EMPLOYEE)
    employee = make_employee(org_a, user)
    grant_consent(employee)
    make_brand_kit(org_a, backend="klein")
    upload = io.BytesIO(dev_face("jack_dorsey", 1).read_bytes())
    upload.name = "1.jpg"
    selfies_upload(employee=employee, uploads=[upload])
    with pytest.raises(TeamsError) as refused:
        generation_request_start(employee=employee, created_by=user)
    assert refused.value.code == "backend_unavailable" and "klein backend" in refused.value.message


def test_the_workers_get_the_deployments_klein_default(settings):
    from teams.generation import pool_config

    settings.RAY_PIPELINE, settings.RAY_PIPELINE_OPTIONS = "inference.backends:BackendRouter", "{}"
    settings.INFERENCE_BACKEND, settings.MODEL_STORE = "klein", "/srv/models"
    options = dict(pool_config().pipeline_options)
    assert (options["default_backend"], options["model_store"]) == ("klein", "/srv/models")
    assert options["dtype"] == settings.DIFFUSION_DTYPE


def settings_in_a_fresh_process(**env) -> subprocess.CompletedProcess:
    """config.settings read from the environment by a new interpreter, as a deployment starts."""
    environment = {k: v for k, v in os.environ.items() if k not in ("INFERENCE_BACKEND", "MODEL_STORE",
                                                                      "DIFFUSION_DTYPE")}
    environment.update(env)
    root = Path(__file__).resolve().parents[2]
    environment["PYTHONPATH"] = f"{root}{os.pathsep}{root / 'platform'}"
    return subprocess.run([sys.executable, "-c", "import config.settings as s; "
                           "print(s.INFERENCE_BACKEND, s.MODEL_STORE, s.DIFFUSION_DTYPE)"],
                          env=environment, cwd=root, capture_output=True, text=True, timeout=120)


def test_a_deployment_may_default_to_klein_in_bfloat16_and_only_with_a_model_store():
    started = settings_in_a_fresh_process(INFERENCE_BACKEND="klein", MODEL_STORE="/srv/models")
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["klein", "/srv/models", "bfloat16"]
    refused = settings_in_a_fresh_process(INFERENCE_BACKEND="klein")
    assert refused.returncode != 0 and "INFERENCE_BACKEND=klein needs MODEL_STORE" in refused.stderr
    wrong = settings_in_a_fresh_process(INFERENCE_BACKEND="klein", MODEL_STORE="/srv/models", DIFFUSION_DTYPE="fp8")
    assert wrong.returncode != 0 and "DIFFUSION_DTYPE must be" in wrong.stderr


# The kit editor --------------------------------------------------------------------------------------------


def editor_form(**changes) -> dict:
    form = {"background_kind": "solid", "background_color": "#e6e9ee", "background_color_to": "#8a97a8",
            "framing_aspect": "0.8", "framing_eye_line": "0.42", "framing_head_height": "0.42", "lighting": "soft",
            "attire_color": "#1f2a44", "attire_strength": "0", "grade_temperature": "0", "grade_saturation": "1",
            "grade_contrast": "1", "retouch_strength": "0.5", "retouch_min_texture_share": "0.6",
            "output_sizes": "1024, 512", "variants_per_person": "6", "backend": "klein"}
    form.update(changes)
    return form


def test_the_editor_saves_the_backend_and_style_reference_and_its_preview_names_the_backend(org_a, settings,
                                                                                          monkeypatch):
    import portal.admin_brand_kits_views as views
    from portal import admin_preview

    settings.INFERENCE_BACKEND, settings.MODEL_STORE = "studio", "/srv/models"
    tenant = populate(org_a)
    client = Client()
    client.force_login(tenant.admin)
    url = url_of("portal:admin-brand-kit-edit", org_a, tenant.kit.pk)
    tenant.kit.versions.update(spec={**tenant.kit.current_version.spec, "backend": "default"})
    page = client.get(url).content.decode()
    assert 'id="preview-backend-label" data-backend="studio"' in page and "default)" in page
    style = SimpleUploadedFile("team.png", png_bytes((90, 110, 140), (240, 300)), "image/png")
    assert client.post(url, {**editor_form(), "style_reference": style}).status_code == 302
    version = tenant.kit.current_version
    assert version.spec["backend"] == "klein" and version.style_reference
    page = client.get(url).content.decode()
    assert 'data-backend="klein"' in page and "FLUX.2 [klein] 4B" in page and "A style reference is stored" in page
    # The live preview is drawn by the studio pipeline (stubbed here: its rendering has its own test) and tells the
    # editor which backend makes the headshots of the kit as edited.
    rendered = []

    def studio_preview(spec, sample=admin_preview.PREVIEW_SAMPLE):
        rendered.append(admin_preview.preview_spec(spec))
        return b"\xff\xd8jpeg", False

    monkeypatch.setattr(views, "brand_preview", studio_preview)
    preview = client.get(f"{url}preview.jpg", editor_form(backend="diffusion"))
    assert preview.status_code == 200 and preview["X-Kit-Backend"] == "diffusion"
    assert preview["X-Kit-Backend-Label"].startswith("SDXL") and rendered[0].backend == "studio"
    # Removing the style reference makes a version without it.
    assert client.post(url, editor_form(remove_style_reference="on")).status_code == 302
    assert not tenant.kit.current_version.style_reference
