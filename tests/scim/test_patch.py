"""PATCH on users: RFC 7644 §3.5.2 forms, and the ones Microsoft Entra ID actually sends."""
from __future__ import annotations

import pytest

from teams.models import Employee
from tenancy.models import Membership, Role
from tests.factories import make_employee, make_user

from .conftest import new_user, patch_op
from .test_auth import assert_scim_error

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def ada(acme) -> dict:
    response = acme.client.post("Users", new_user(displayName="Ada Lovelace", externalId="E-1"))
    assert response.status_code == 201
    return response.json()


def patched(acme, user: dict, *operations: dict, schemas: bool = True) -> dict:
    body = patch_op(*operations) if schemas else {"Operations": list(operations)}
    response = acme.client.patch(f"Users/{user['id']}", body)
    assert response.status_code == 200, response.content
    return response.json()


def employee_of(user: dict) -> Employee:
    return Employee.objects.get(pk=int(user["id"]))


def test_replace_with_paths(acme, ada):
    user = patched(acme, ada, {"op": "replace", "path": "displayName", "value": "Augusta Ada King"},
                   {"op": "replace", "path": "name.givenName", "value": "Augusta"},
                   {"op": "replace", "path": "externalId", "value": "E-9"})
    assert user["displayName"] == "Augusta Ada King"
    assert user["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}
    employee = employee_of(ada)
    assert (employee.name, employee.external_id) == ("Augusta Ada King", "E-9")


def test_entra_capitalised_ops_and_string_booleans_deactivate(acme):
    person = make_user(acme.org, Role.EMPLOYEE, email="ada@acme.example")
    employee = make_employee(acme.org, user=person)
    user = patched(acme, {"id": str(employee.pk)}, {"op": "Replace", "path": "active", "value": "False"})
    assert user["active"] is False
    employee.refresh_from_db()
    assert not employee.active
    assert not Membership.objects.filter(user=person, organization=acme.org).exists()
    assert patched(acme, user, {"op": "Replace", "path": "active", "value": "True"})["active"] is True


def test_entra_value_object_without_path(acme, ada):
    user = patched(acme, ada, {"op": "Replace", "value": {
        "active": False, "displayName": "Ada K", "name.familyName": "King",
        f"{ENTERPRISE}:employeeNumber": "1001", "externalId": "E-2"}})
    assert user["active"] is False and user["displayName"] == "Ada K"
    assert user["name"]["familyName"] == "King" and user[ENTERPRISE] == {"employeeNumber": "1001"}
    employee = employee_of(ada)
    assert employee.employee_number == "1001" and employee.external_id == "E-2"


def test_entra_add_with_paths(acme, ada):
    user = patched(acme, ada, {"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada.k@acme.example"},
                   {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "77"},
                   {"op": "Add", "path": "name.givenName", "value": "Augusta"}, schemas=False)
    assert user["emails"] == [{"value": "ada.k@acme.example", "type": "work", "primary": True}]
    assert user[ENTERPRISE]["employeeNumber"] == "77" and user["name"]["givenName"] == "Augusta"
    assert employee_of(ada).email == "ada.k@acme.example"


def test_filtered_email_path_creates_the_address_when_missing(acme):
    bob = acme.client.post("Users", {"userName": "bob@acme.example", "active": True}).json()
    assert bob["emails"] == [{"value": "bob@acme.example", "type": "work", "primary": True}]
    user = patched(acme, bob, {"op": "replace", "path": 'emails[type eq "home"].value', "value": "bob@home.example"})
    assert {"type": "home", "value": "bob@home.example"} in user["emails"]
    assert employee_of(bob).email == "bob@acme.example"  # the primary work address is still the one we use


def test_enterprise_extension_as_a_whole(acme, ada):
    user = patched(acme, ada, {"op": "add", "path": ENTERPRISE, "value": {"employeeNumber": "5"}})
    assert user[ENTERPRISE] == {"employeeNumber": "5"}
    user = patched(acme, user, {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"})
    assert ENTERPRISE not in user and employee_of(ada).external_ids == {}


def test_remove(acme, ada):
    user = patched(acme, ada, {"op": "remove", "path": "externalId"}, {"op": "remove", "path": "name"},
                   {"op": "remove", "path": "displayName"})
    assert "externalId" not in user and "name" not in user and "displayName" not in user
    employee = employee_of(ada)
    assert employee.external_id == "" and employee.name == "ada@acme.example"  # the name falls back to the userName


def test_add_email_makes_the_new_primary_the_work_email(acme, ada):
    user = patched(acme, ada, {"op": "add", "path": "emails",
                               "value": [{"value": "lovelace@acme.example", "type": "work", "primary": True}]})
    assert [e["primary"] for e in user["emails"]] == [False, True]
    assert employee_of(ada).email == "lovelace@acme.example"


def test_replace_user_name_with_core_schema_prefix(acme, ada):
    user = patched(acme, ada, {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                               "value": "ada.lovelace@acme.example"})
    assert user["userName"] == "ada.lovelace@acme.example"
    assert acme.client.get('Users?filter=userName eq "ada.lovelace@acme.example"').json()["totalResults"] == 1


@pytest.mark.parametrize("body,status,scim_type", [
    ({"Operations": []}, 400, "invalidSyntax"),
    ({"Operations": [{"op": "merge", "path": "displayName", "value": "x"}]}, 400, "invalidSyntax"),
    ({"Operations": [{"op": "remove"}]}, 400, "noTarget"),
    ({"Operations": [{"op": "replace", "path": "shoeSize", "value": "x"}]}, 400, "invalidPath"),  # not in RFC 7643
    # An attribute we accept and drop still needs a well-formed path.
    ({"Operations": [{"op": "replace", "path": 'phoneNumbers[type co "w"].value', "value": "1"}]}, 400,
     "invalidFilter"),
    ({"Operations": [{"op": "replace", "path": "addresses[type eq \"work\"", "value": "x"}]}, 400, "invalidPath"),
    ({"Operations": [{"op": "replace", "path": "groups", "value": []}]}, 400, "mutability"),
    ({"Operations": [{"op": "replace", "path": "id", "value": "1"}]}, 400, "mutability"),
    ({"Operations": [{"op": "replace", "path": "active", "value": "perhaps"}]}, 400, "invalidValue"),
    ({"Operations": [{"op": "replace", "path": 'emails[type co "w"].value', "value": "x@y.example"}]}, 400,
     "invalidFilter"),
    ({"Operations": [{"op": "replace", "path": "userName", "value": ""}]}, 400, "invalidValue"),
    ({"schemas": ["urn:something:else"], "Operations": [{"op": "add", "path": "displayName", "value": "x"}]}, 400,
     "invalidSyntax"),
])
def test_bad_patches_are_refused_and_change_nothing(acme, ada, body, status, scim_type):
    assert_scim_error(acme.client.patch(f"Users/{ada['id']}", body), status, scim_type)
    assert acme.client.get(f"Users/{ada['id']}").json()["meta"]["version"] == ada["meta"]["version"]


def test_one_bad_operation_fails_the_whole_patch(acme, ada):
    body = patch_op({"op": "replace", "path": "displayName", "value": "Changed"},
                    {"op": "replace", "path": "shoeSize", "value": "x"})
    assert_scim_error(acme.client.patch(f"Users/{ada['id']}", body), 400, "invalidPath")
    assert employee_of(ada).name == "Ada Lovelace"
