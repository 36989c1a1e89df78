"""The whole chain on real photos: API -> dramatiq (real Redis broker) -> Ray pool -> stored headshots."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from teams.generation import generation_run
from teams.models import GenerationRequest, Headshot, RequestStatus
from tenancy.models import Role
from tests.conftest import dev_face
from tests.factories import client_for, grant_consent, make_employee, make_user
from tests.jobs_support import dramatiq_worker, wait_for
from tests.urls import tenant_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]
# Four variants keep the test quick; production kits default to 24 per person.
BRAND = {"background": {"kind": "solid", "color": "#1f4e79"}, "output_sizes": [512, 256], "variants_per_person": 4}


def named(path) -> io.BytesIO:
    handle = io.BytesIO(path.read_bytes())
    handle.name = path.name
    return handle


def test_employee_request_runs_through_redis_dramatiq_and_ray_to_stored_headshots(org_a, ray_pool, redis_broker):
    org_a.selfies_required = 3  # the dev set of this person has 3 photos; the default is 8
    org_a.save()
    admin = make_user(org_a, Role.ADMIN)
    user = make_user(org_a, Role.EMPLOYEE)
    grant_consent(make_employee(org_a, user, external_id="E-42"))
    admin_api, me_api = client_for(admin), client_for(user)
    created = admin_api.post(tenant_url("brand-kit-list", org_a), {"name": "Blue", "spec": BRAND}, format="json")
    assert created.status_code == 201

    selfies = [named(dev_face("barack_obama", n)) for n in (1, 2, 3)]
    assert me_api.post(tenant_url("my-selfie-list", org_a), {"files": selfies}, format="multipart").status_code == 201
    started = me_api.post(tenant_url("my-generation-request-list", org_a), {}, format="json")
    assert started.status_code == 201, started.content
    assert started.json()["status"] == "queued"
    # The job went to Redis on commit; nothing ran yet.
    assert redis_broker.client.llen(f"{redis_broker.namespace}:generation") == 1

    request_url = tenant_url("my-generation-request-detail", org_a, started.json()['id'])
    with dramatiq_worker():
        done = wait_for(lambda: (r := me_api.get(request_url).json())["status"] in ("done", "failed") and r, 240)
    assert done["status"] == "done", done
    assert done["progress_done"] == done["progress_total"] == 4

    headshots = me_api.get(tenant_url("my-headshot-list", org_a)).json()["results"]
    stored = Headshot.objects.filter(request_id=done["id"])
    assert len(headshots) == stored.filter(qc_passed=True).count() >= 3
    assert [h["rank"] for h in headshots] == sorted(h["rank"] for h in headshots)
    for headshot in headshots:
        assert headshot["brand_kit_version"] == 1
        assert headshot["qc"]["identity_distance"] < 0.6
        assert headshot["sizes"] == [256, 512]
        image = me_api.get(tenant_url("headshot-file", org_a, headshot['id']), {"size": 512})
        with Image.open(io.BytesIO(b"".join(image.streaming_content))) as im:
            assert im.size[0] == 512
            top_band = np.asarray(im.convert("RGB"))[:20].reshape(-1, 3).mean(axis=0)
        # The brand background is behind the person: its colour times the studio's background light
        # (falloff towards the corners: a gain within 0.7-1.25), so the hue stays the brand's.
        brand = np.array([0x1F, 0x4E, 0x79], dtype=float)
        gain = top_band.sum() / brand.sum()
        assert 0.7 < gain < 1.25
        assert np.abs(top_band - gain * brand).max() < 8

    # Favourite, approval and export complete the loop.
    chosen = headshots[0]["id"]
    selected = me_api.post(tenant_url("my-headshot-select", org_a, chosen), {"selected": True}, format="json")
    assert selected.status_code == 200
    assert admin_api.post(tenant_url("headshot-approve", org_a, chosen), {}, format="json").status_code == 200
    export = admin_api.get(tenant_url("headshot-export", org_a))
    import csv
    import zipfile

    with zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        assert len(rows) == 1
        assert rows[0]["external_id"] == "E-42" and rows[0]["brand_kit_version"] == "1"
        assert float(rows[0]["identity_distance"]) < 0.6
        with Image.open(io.BytesIO(archive.read(rows[0]["file"]))) as im:
            assert im.size[0] == 512


def test_running_the_job_again_never_duplicates_headshots(org_a, ray_pool, redis_broker):
    from teams.generation_requests import generation_request_start
    from teams.selfies import selfies_upload

    org_a.selfies_required = 2
    org_a.save()
    user = make_user(org_a, Role.EMPLOYEE)
    employee = make_employee(org_a, user)
    grant_consent(employee)
    from tests.factories import make_brand_kit

    make_brand_kit(org_a, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256], variants_per_person=2)
    selfies_upload(employee=employee, uploads=[named(dev_face("jack_dorsey", n)) for n in (1, 2)])
    request = generation_request_start(employee=employee, created_by=user)

    generation_run(request.pk)
    first = sorted(Headshot.objects.values_list("idempotency_key", flat=True))
    assert len(first) == 2

    # A redelivered message (worker killed after storing, before acking) runs the job again.
    GenerationRequest.objects.filter(pk=request.pk).update(status=RequestStatus.RUNNING)
    generation_run(request.pk)
    # And a message for a finished request is a no-op.
    generation_run(request.pk)
    assert sorted(Headshot.objects.values_list("idempotency_key", flat=True)) == first
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.progress_done == 2


@pytest.mark.django_db
def test_a_diffusion_kit_on_a_deployment_without_a_model_store_is_refused_up_front(org_a, settings):
    from teams.errors import TeamsError
    from teams.generation_requests import generation_request_start
    from teams.selfies import selfies_upload
    from tests.factories import make_brand_kit

    settings.MODEL_STORE = None
    org_a.selfies_required = 1
    org_a.save()
    user = make_user(org_a, Role.EMPLOYEE)
    employee = make_employee(org_a, user)
    grant_consent(employee)
    make_brand_kit(org_a, backend="diffusion")
    selfies_upload(employee=employee, uploads=[named(dev_face("jack_dorsey", 1))])
    with pytest.raises(TeamsError) as refused:
        generation_request_start(employee=employee, created_by=user)
    assert refused.value.code == "backend_unavailable"
    assert not GenerationRequest.objects.exists()
