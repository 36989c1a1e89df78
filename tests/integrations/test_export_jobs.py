"""Export jobs: an admin starts a destination export, a worker (real Redis broker) builds the ZIP into storage."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from brand_kits.models import BrandKit
from integrations.export_jobs import export_job_run, export_job_start
from integrations.models import ExportJob
from teams.employees import employee_update
from teams.headshots import headshot_approve
from teams.labels import read_label
from teams.models import Employee, GenerationRequest, Headshot, RequestStatus
from tenancy.models import Role
from tests.conftest import REPO
from tests.factories import client_for, make_brand_kit, make_employee, make_user
from tests.jobs_support import dramatiq_worker, wait_for
from tests.urls import tenant_url

PHOTO = REPO / "samples" / "selfies" / "grace_hopper" / "grace_hopper.jpg"  # a real 512x600 portrait


def png(size=(64, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buffer, "PNG")
    return buffer.getvalue()


def with_real_photo(headshot):
    """Store a real portrait as the headshot's PNG master, with a 256 px JPEG rendition."""
    with Image.open(PHOTO) as photo:
        master, small = io.BytesIO(), io.BytesIO()
        photo.convert("RGB").save(master, "PNG")
        photo.convert("RGB").resize((256, 300)).save(small, "JPEG", quality=90)
        headshot.width, headshot.height = photo.size
    headshot.file.save("master.png", ContentFile(master.getvalue()), save=False)
    headshot.renditions = {"256": default_storage.save(f"orgs/{headshot.organization_id}/h-256.jpg",
                                                       ContentFile(small.getvalue()))}
    headshot.save()
    return headshot


def add_headshot(employee, *, real: bool = True, approved: bool = True) -> Headshot:
    """A finished request with one headshot: the real portrait, or a 64x80 stand-in image."""
    org = employee.organization
    kit = BrandKit.objects.for_organization(org).first() or make_brand_kit(org)
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot(organization=org, request=request, employee=employee, brand_kit_version=kit.current_version,
                        variant="standard", idempotency_key=f"{request.pk}:standard", width=64, height=80,
                        qc_passed=True)
    headshot.file.save("h.png", ContentFile(png()), save=False)
    headshot.save()
    if real:
        with_real_photo(headshot)
    if approved:
        headshot_approve(headshot=headshot)
    return headshot


def approved_person(org, email: str, external_id: str, **options) -> Employee:
    employee = make_employee(org, email=email, external_id=external_id)
    employee.export_headshot = add_headshot(employee, **options)
    return employee


def read_zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def manifest(archive: zipfile.ZipFile) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_an_export_runs_through_the_broker_and_names_files_by_the_presets_rule(org_a, redis_broker, settings):
    settings.EXPORT_PROGRESS_EVERY = 1
    approved_person(org_a, "ada@acme.example", "E-1")
    grace = approved_person(org_a, "grace@acme.example", "E-2")
    approved_person(org_a, "waiting@acme.example", "E-4", approved=False)  # not approved: not exported
    gone = approved_person(org_a, "gone@acme.example", "E-3")
    employee_update(employee=gone, active=False)  # deactivated: not exported
    admin = client_for(make_user(org_a, Role.ADMIN))

    started = admin.post(tenant_url("export-job-list", org_a), {"preset": "hibob", "approved_only": True},
                         format="json")
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["status"] == "queued" and job["download_url"] is None
    # The job waits in Redis until a worker takes it.
    assert redis_broker.client.llen(f"{redis_broker.namespace}:exports") == 1

    with dramatiq_worker():
        done = wait_for(lambda: (j := admin.get(tenant_url("export-job-detail", org_a, job["id"])).json())["status"]
                        in ("done", "failed") and j, 60)
    assert done["status"] == "done", done
    assert done["done"] == done["total"] == 2 and done["skipped"] == 0 and done["attempts"] == 1
    assert done["size_bytes"] > 0 and done["finished_at"]
    assert done["download_url"] == f"http://testserver{tenant_url('export-job-download', org_a, job['id'])}"
    assert admin.get(tenant_url("export-job-list", org_a)).json()["results"][0]["id"] == job["id"]

    archive = read_zip(admin.get(done["download_url"]))
    # HiBob matches bulk-uploaded photos to people by work email.
    assert sorted(archive.namelist()) == ["ada@acme.example.jpg", "grace@acme.example.jpg", "manifest.csv"]
    rows = {r["external_id"]: r for r in manifest(archive)}
    assert set(rows) == {"E-1", "E-2"}
    assert rows["E-1"]["file"] == "ada@acme.example.jpg" and rows["E-1"]["status"] == "exported"
    assert rows["E-2"]["headshot_id"] == str(grace.export_headshot.pk)
    assert rows["E-2"]["digital_source_type"].endswith("trainedAlgorithmicMedia")
    for row in rows.values():
        data = archive.read(row["file"])
        assert len(data) == int(row["bytes"])
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (512, 512)  # HiBob preset: 512 px square
        assert read_label(data).ai_generated


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
def test_a_failed_export_says_why_and_can_be_retried(org_a, redis_broker):
    ada = approved_person(org_a, "ada@acme.example", "E-1")
    admin = client_for(make_user(org_a, Role.ADMIN))
    master, rendition = ada.export_headshot.file.name, ada.export_headshot.renditions["256"]
    kept = {name: default_storage.open(name).read() for name in (master, rendition)}
    for name in kept:
        default_storage.delete(name)

    job = admin.post(tenant_url("export-job-list", org_a), {"preset": "workday"}, format="json").json()
    with dramatiq_worker():
        failed = wait_for(lambda: (j := admin.get(tenant_url("export-job-detail", org_a, job["id"])).json())["status"]
                          in ("done", "failed") and j, 60)
        assert failed["status"] == "failed"
        assert "A stored headshot image is missing" in failed["error"] and "Retry" in failed["error"]
        assert failed["download_url"] is None
        not_ready = admin.get(tenant_url("export-job-download", org_a, job["id"]))
        assert not_ready.status_code == 409 and not_ready.json()["code"] == "export_not_ready"
        assert not default_storage.exists(f"orgs/{org_a.pk}/exports/{job['id']}")

        for name, data in kept.items():
            default_storage.save(name, ContentFile(data))
        retried = admin.post(tenant_url("export-job-retry", org_a, job["id"]), {}, format="json")
        assert retried.status_code == 202 and retried.json()["status"] == "queued"
        done = wait_for(lambda: (j := admin.get(tenant_url("export-job-detail", org_a, job["id"])).json())["status"]
                        in ("done", "failed") and j, 60)
    assert done["status"] == "done" and done["error"] == "" and done["attempts"] == 2
    archive = read_zip(admin.get(done["download_url"]))
    assert [r["external_id"] for r in manifest(archive)] == ["E-1"]
    # Only a failed export can be retried.
    again = admin.post(tenant_url("export-job-retry", org_a, job["id"]), {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_failed"


@pytest.mark.django_db
def test_headshots_a_preset_cannot_use_are_left_out_with_the_reason(org_a, settings):
    approved_person(org_a, "big@acme.example", "E-BIG")
    approved_person(org_a, "small@acme.example", "E-SMALL", real=False)  # 64x80: Slack needs at least 512 px
    job = export_job_start(organization=org_a, preset="slack", created_by=None)
    job = export_job_run(job_id=job.pk)

    assert (job.status, job.total, job.done, job.skipped) == ("done", 2, 2, 1)
    with job.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        rows = {r["external_id"]: r for r in manifest(archive)}
        assert rows["E-BIG"]["status"] == "exported" and rows["E-BIG"]["file"] == "E-BIG.jpg"
        skipped = rows["E-SMALL"]
        assert skipped["status"] == "skipped" and "at least 512" in skipped["reason"] and skipped["file"] == ""
        assert archive.namelist() == ["E-BIG.jpg", "manifest.csv"]


@pytest.mark.django_db
def test_exporting_all_headshots_gives_each_its_own_file_name(org_a):
    person = approved_person(org_a, "ada@acme.example", "E-1")
    second = add_headshot(person, approved=False)
    job = export_job_run(job_id=export_job_start(organization=org_a, preset="workday", approved_only=False,
                                                 created_by=None).pk)
    assert job.status == "done" and job.total == 2
    with job.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        assert archive.namelist() == ["E-1.jpg", f"E-1-{second.pk}.jpg", "manifest.csv"]


@pytest.mark.django_db
def test_an_interrupted_job_starts_over_and_a_finished_one_is_left_alone(org_a):
    approved_person(org_a, "ada@acme.example", "E-1")
    job = export_job_start(organization=org_a, preset="google", created_by=None)
    ExportJob.objects.filter(pk=job.pk).update(status="running", done=1, attempts=1)  # its worker died mid-way
    job = export_job_run(job_id=job.pk)
    assert (job.status, job.attempts, job.done) == ("done", 2, 1)
    stored = job.file.name
    assert export_job_run(job_id=job.pk) is None  # a duplicate message does nothing
    assert ExportJob.objects.get(pk=job.pk).file.name == stored and default_storage.exists(stored)


@pytest.mark.django_db
@pytest.mark.parametrize("body,field", [({"preset": "myspace"}, "preset"), ({}, "preset"),
                                        ({"preset": "slack", "approved_only": "maybe"}, "approved_only")])
def test_a_bad_export_request_gets_400_naming_the_field(body, field, org_a):
    response = client_for(make_user(org_a, Role.ADMIN)).post(tenant_url("export-job-list", org_a), body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not ExportJob.objects.filter(organization=org_a).exists()


@pytest.mark.django_db
def test_the_zip_is_written_to_a_file_on_disk_then_stored(org_a, monkeypatch):
    approved_person(org_a, "ada@acme.example", "E-1")
    import integrations.export_jobs as export_jobs

    real, targets = export_jobs.export_preset_zip_write, []

    def spy(*, target, **kwargs):
        targets.append(target)
        return real(target=target, **kwargs)

    monkeypatch.setattr(export_jobs, "export_preset_zip_write", spy)
    job = export_job_run(job_id=export_job_start(organization=org_a, preset="original", created_by=None).pk)
    assert job.status == "done"
    [target] = targets
    assert not isinstance(target, io.BytesIO) and target.closed  # an OS-level temporary file, gone afterwards
    assert job.file.name.startswith(f"orgs/{org_a.pk}/exports/{job.pk}/") and job.file.name.endswith(".zip")
    assert job.size_bytes == default_storage.size(job.file.name)


@pytest.mark.django_db
def test_an_export_jobs_manifest_carries_the_directory_fields(org_a):
    boss = make_employee(org_a, email="grace@acme.example", external_id="E-0", name="Grace Hopper")
    person = approved_person(org_a, "ada@acme.example", "E-1")
    employee_update(employee=person, title="Analyst", department="Engines", employee_number="0042", manager=boss)
    job = export_job_run(job_id=export_job_start(organization=org_a, preset="workday", created_by=None).pk)
    assert job.status == "done"
    with job.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        (row,) = manifest(archive)
    assert (row["external_id"], row["employee_number"], row["title"], row["department"]) == (
        "E-1", "0042", "Analyst", "Engines")
    assert (row["manager"], row["manager_email"]) == ("Grace Hopper", "grace@acme.example")


@pytest.mark.django_db
def test_export_numbers_count_only_the_organizations_own_exports(org_a, org_b):
    other = client_for(make_user(org_b, Role.ADMIN))
    for _ in range(2):  # another organization's exports must not show in our numbers
        assert other.post(tenant_url("export-job-list", org_b), {"preset": "slack"}, format="json").status_code == 202
    ours = client_for(make_user(org_a, Role.ADMIN))
    first = ours.post(tenant_url("export-job-list", org_a), {"preset": "slack"}, format="json").json()
    second = ours.post(tenant_url("export-job-list", org_a), {"preset": "google"}, format="json").json()
    assert (first["number"], second["number"]) == (1, 2)
    assert first["id"] != 1  # ids stay global (they name the job in URLs); only the number is ours
    assert ours.get(tenant_url("export-job-detail", org_a, first['id'])).json()["number"] == 1
    assert [row["number"] for row in ours.get(tenant_url("export-job-list", org_a)).json()["results"]] == [2, 1]


@pytest.mark.django_db(transaction=True)
def test_exports_started_at_the_same_time_get_distinct_numbers(org_a):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes every write)")
    barrier, errors = threading.Barrier(6), []

    def start() -> None:
        from django.db import connection as thread_connection
        try:
            barrier.wait()
            ExportJob.objects.create(organization=org_a, preset="slack")
        except Exception as exc:  # collected so the assertion below names it
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(ExportJob.objects.filter(organization=org_a).values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]
