"""Admins manage employees by hand or by CSV import; a file with bad rows is refused whole, every bad row reported."""
from __future__ import annotations

import io

import pytest

from teams.models import Employee, Team
from tenancy.models import Role
from tests.factories import client_for, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


def csv_file(text: str) -> io.BytesIO:
    handle = io.BytesIO(text.encode())
    handle.name = "people.csv"
    return handle


def test_admin_creates_updates_and_deletes_an_employee(org_a, admin):
    client = client_for(admin)
    url = tenant_url("employee-list", org_a)
    created = client.post(url, {"name": "Ann", "email": "Ann@Acme.example", "external_id": "E1", "team": "Sales"},
                          format="json")
    assert created.status_code == 201
    assert created.json()["email"] == "ann@acme.example" and created.json()["team"] == "Sales"
    duplicate = client.post(url, {"name": "Ann 2", "email": "ann@acme.example"}, format="json")
    assert duplicate.status_code == 409
    ann = tenant_url("employee-detail", org_a, created.json()["id"])
    patched = client.patch(ann, {"team": "Marketing"}, format="json")
    assert patched.json()["team"] == "Marketing"
    assert client.delete(ann).status_code == 204
    assert not Employee.objects.exists()


def test_csv_import_upserts_by_email_and_refuses_a_file_with_bad_rows_whole(org_a, admin):
    client = client_for(admin)
    url = tenant_url("employee-import", org_a)
    text = ("name,email,external_id,team\n"
            "Ann Lee,ann@acme.example,E1,Sales\n"
            "Bo Chan,not-an-email,E2,Sales\n"
            ",cy@acme.example,E3,Ops\n"
            "Di Ray,di@acme.example,E4,Ops\n")
    refused = client.post(url, {"file": csv_file(text)}, format="multipart")
    assert refused.status_code == 400, refused.content
    assert [(e["line"], e["column"]) for e in refused.json()["errors"]["rows"]] == [(3, "email"), (4, "name")]
    assert not Employee.objects.exists() and not Team.objects.exists()

    fixed = text.replace("not-an-email", "bo@acme.example").replace(",cy@", "Cy Ng,cy@")
    response = client.post(url, {"file": csv_file(fixed)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 4, "updated": 0, "errors": []}
    assert set(Team.objects.values_list("name", flat=True)) == {"Sales", "Ops"}

    again = client.post(url, {"file": csv_file("name,email,team\nAnn Lee-Smith,ann@acme.example,Ops\n")},
                        format="multipart")
    assert again.json() == {"created": 0, "updated": 1, "errors": []}
    assert Employee.objects.get(email="ann@acme.example").name == "Ann Lee-Smith"


def test_csv_without_the_required_columns_is_a_clear_400(org_a, admin):
    response = client_for(admin).post(tenant_url("employee-import", org_a),
                                      {"file": csv_file("first,last\nA,B\n")}, format="multipart")
    assert response.status_code == 400
    assert "name, email" in response.json()["detail"]


def test_a_binary_file_is_not_taken_for_a_csv(org_a, admin):
    response = client_for(admin).post(tenant_url("employee-import", org_a),
                                      {"file": _binary()}, format="multipart")
    assert response.status_code == 400
    assert not Employee.objects.exists()


def _binary() -> io.BytesIO:
    handle = io.BytesIO(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    handle.name = "photo.csv"
    return handle


def test_admin_sets_title_department_employee_number_and_manager(org_a, admin):
    client = client_for(admin)
    url = tenant_url("employee-list", org_a)
    boss = client.post(url, {"name": "Grace Hopper", "email": "grace@acme.example"}, format="json").json()
    created = client.post(url, {"name": "Ada", "email": "ada@acme.example", "title": "Analyst",
                                "department": "Engines", "employee_number": "E-0001", "manager": boss["id"]},
                          format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["department"], body["employee_number"]) == ("Analyst", "Engines", "E-0001")
    assert (body["manager"], body["manager_name"]) == (boss["id"], "Grace Hopper")

    # A manager who isn't an employee here is kept by name only.
    change = {"manager": None, "manager_name": "Charles Babbage", "title": "Countess"}
    patched = client.patch(tenant_url("employee-detail", org_a, body["id"]), change, format="json").json()
    assert (patched["manager"], patched["manager_name"], patched["title"]) == (None, "Charles Babbage", "Countess")
    listed = {e["email"]: e for e in client.get(url).json()["results"]}
    assert listed["ada@acme.example"]["manager_name"] == "Charles Babbage"
    assert listed["ada@acme.example"]["department"] == "Engines"


@pytest.mark.parametrize("change,field", [
    ({"title": "x" * 201}, "title"),
    ({"department": "x" * 201}, "department"),
    ({"employee_number": "1" * 65}, "employee_number"),
    ({"manager_name": "x" * 201}, "manager_name"),
    ({"manager": "²"}, "manager"),
    ({"manager": 2**70}, "manager"),
    ({"title": ["a", "list"]}, "title"),
])
def test_directory_fields_are_validated_and_nothing_changes(org_a, admin, change, field):
    client = client_for(admin)
    url = tenant_url("employee-list", org_a)
    ada = client.post(url, {"name": "Ada", "email": "ada@acme.example", "title": "Analyst"}, format="json").json()
    response = client.patch(tenant_url("employee-detail", org_a, ada['id']), change, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert Employee.objects.get(pk=ada["id"]).title == "Analyst"


def test_a_manager_must_be_someone_else_in_the_same_organization(org_a, org_b, admin):
    client = client_for(admin)
    url = tenant_url("employee-list", org_a)
    outsider = Employee.objects.create(organization=org_b, name="B's CEO", email="ceo@b.example")
    ada = client.post(url, {"name": "Ada", "email": "ada@acme.example"}, format="json").json()
    ada_url = tenant_url("employee-detail", org_a, ada["id"])
    other_org = client.patch(ada_url, {"manager": outsider.pk}, format="json")
    unused = client.patch(ada_url, {"manager": outsider.pk + 1000}, format="json")
    assert other_org.status_code == unused.status_code == 400
    # Another organization's id is answered exactly like an unused one: it reveals nothing.
    assert other_org.json()["detail"].replace(str(outsider.pk), "N") == \
        unused.json()["detail"].replace(str(outsider.pk + 1000), "N")
    created = client.post(url, {"name": "Bo", "email": "bo@acme.example", "manager": outsider.pk}, format="json")
    assert created.status_code == 400 and not Employee.objects.filter(email="bo@acme.example").exists()
    own = client.patch(ada_url, {"manager": ada["id"]}, format="json")
    assert own.status_code == 400 and "own manager" in own.json()["detail"]
    assert Employee.objects.get(pk=ada["id"]).manager is None
