"""The ZIP export: one image per headshot, a CSV manifest describing each, approved-only by default."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from PIL import Image

from teams.headshots import headshot_approve
from teams.labels import read_label
from tests.api.conftest import populate
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


def export(client, org, **params) -> zipfile.ZipFile:
    response = client.get(tenant_url("headshot-export", org), params)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def manifest(archive: zipfile.ZipFile) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))


def test_export_holds_only_approved_headshots_by_default_and_all_on_request(tenant_a):
    second = populate(tenant_a.org)
    headshot_approve(headshot=second.headshot)
    client = client_for(tenant_a.admin)

    approved = export(client, tenant_a.org)
    rows = manifest(approved)
    assert [int(r["headshot_id"]) for r in rows] == [second.headshot.pk]
    row = rows[0]
    assert row["external_id"] == second.employee.external_id
    assert row["email"] == second.employee.email
    assert row["brand_kit_version"] == "1" and row["identity_distance"] == "0.3"
    # The stored rendition as delivered everywhere: re-encoded without metadata, labelled AI-generated.
    exported = approved.read(row["file"])
    stored = second.headshot.file.storage.open(second.headshot.renditions["64"]).read()
    assert read_label(exported).ai_generated
    assert Image.open(io.BytesIO(exported)).size == Image.open(io.BytesIO(stored)).size

    everything = export(client, tenant_a.org, approved_only="false")
    assert len(manifest(everything)) == 2
    assert len([n for n in everything.namelist() if n != "manifest.csv"]) == 2


def test_manifest_columns_are_unique(tenant_a):
    tenant_a.headshot.qc = {"identity_distance": 0.3, "passed": True, "sharpness": 12.5, "failures": []}
    tenant_a.headshot.save()
    header = export(client_for(tenant_a.admin), tenant_a.org, approved_only="false").read("manifest.csv")
    columns = header.decode().splitlines()[0].split(",")
    assert len(columns) == len(set(columns))
    assert "qc_sharpness" in columns and "qc_failures" not in columns


def test_an_empty_export_still_has_a_manifest(tenant_a):
    archive = export(client_for(tenant_a.admin), tenant_a.org)
    assert archive.namelist() == ["manifest.csv"]
    assert manifest(archive) == []


def test_the_manifest_carries_title_department_employee_number_and_manager(tenant_a):
    from teams.employees import employee_create, employee_update

    boss = employee_create(organization=tenant_a.org, name="Grace Hopper", email="grace@acme.example")
    employee_update(employee=tenant_a.employee, title="Analyst", department="Engines", employee_number="E-0001",
                    manager=boss)
    second = populate(tenant_a.org)
    employee_update(employee=second.employee, manager_name="Charles Babbage")  # a manager who isn't provisioned
    client = client_for(tenant_a.admin)
    archive = export(client, tenant_a.org, approved_only="false")
    header = archive.read("manifest.csv").decode().splitlines()[0].split(",")
    assert header[header.index("team") + 1:header.index("team") + 6] == [
        "employee_number", "title", "department", "manager", "manager_email"]
    rows = {int(r["employee_id"]): r for r in manifest(archive)}
    first = rows[tenant_a.employee.pk]
    assert (first["employee_number"], first["title"], first["department"]) == ("E-0001", "Analyst", "Engines")
    assert (first["manager"], first["manager_email"]) == ("Grace Hopper", "grace@acme.example")
    other = rows[second.employee.pk]
    assert (other["manager"], other["manager_email"], other["title"]) == ("Charles Babbage", "", "")
