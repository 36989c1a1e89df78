"""What Entra ID and Okta send by default, as their documentation shows it, through the real SCIM HTTP stack.

Entra: the default attribute mappings of a non-gallery SCIM app (Microsoft's "Tutorial: Develop and plan
provisioning for a SCIM endpoint": jobTitle -> title, preferredLanguage, telephoneNumber ->
phoneNumbers[type eq "work"].value, physicalDeliveryOfficeName -> addresses[type eq "work"].formatted, department,
employeeId -> employeeNumber, manager) and the request shapes of Microsoft's SCIM validator (ops capitalised or not,
a value object whose keys are paths, the manager as a bare id). Okta: the request bodies of its "SCIM 2.0 Protocol
Reference" (create with password and locale, group rename restating the group's id, membership changes).

Title, department, employee number and manager are stored and returned; the rest is accepted and not kept.
"""
from __future__ import annotations

import json

import pytest

from scim.models import ScimGroup, ScimUser
from teams.models import Employee, Team
from tests.urls import url_of

from .conftest import new_user, patch_op
from .test_auth import assert_scim_error

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PHONE = "18-569-6230"
OFFICE = "Building 92, Room 3"


def stored_text(employee: Employee) -> str:
    """Everything we keep about a SCIM user (their employee row and SCIM row), as one string."""
    employee.refresh_from_db()
    scim = ScimUser.objects.filter(employee=employee).values().first() or {}
    row = Employee.objects.filter(pk=employee.pk).values().first()
    return json.dumps([row, scim], default=str)


def entra_validator_user(user_name: str = "alfreda_kulas@littlegutkowski.co.uk") -> dict:
    # The create body of Microsoft's SCIM validator with every default mapping filled in.
    return {
        "active": True,
        "addresses": [{"type": "work", "formatted": OFFICE, "streetAddress": "48051 Wyman Crescent",
                       "locality": "KZGMXRWUERYN", "region": "OPGOERCMMDMM", "postalCode": "sf9 2bi",
                       "primary": True, "country": "Czech Republic"}],
        "displayName": "Alfreda Kulas",
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        "locale": "EEQKCKVTLCGE",
        "name": {"givenName": "Alfreda", "familyName": "Kulas", "formatted": "Alfreda Kulas", "middleName": "D'angelo",
                 "honorificPrefix": "Felix", "honorificSuffix": "Verona"},
        "nickName": "DKYYDYXIFWAM",
        "phoneNumbers": [{"type": "work", "value": PHONE, "primary": True}, {"type": "mobile", "value": PHONE},
                         {"type": "fax", "value": PHONE}],
        "preferredLanguage": "sr-Latn-RS",
        "profileUrl": "PSEDIKWEYFMO",
        "roles": [{"primary": True, "display": "LMYZCPJGHNTQ", "value": "DVILABHTDNGE", "type": "DNLVKNPAJLNP"}],
        "schemas": [USER, ENTERPRISE],
        "timezone": "Africa/Libreville",
        "title": "Principal Engineer",
        ENTERPRISE: {"employeeNumber": "UVFGABTNSFTG", "department": "Platform", "costCenter": "DOEHSQTDYUNN",
                     "organization": "SPQQVVHWJIRG", "division": "AYOQREXHSPPI"},
        "userName": user_name,
        "userType": "CQYGEYKHFCTJ",
    }


def create(org, body: dict) -> dict:
    response = org.client.post("Users", body)
    assert response.status_code == 201, response.content
    return response.json()


def patch(org, user_id: str, *operations: dict) -> dict:
    response = org.client.patch(f"Users/{user_id}", patch_op(*operations))
    assert response.status_code == 200, response.content
    return response.json()


# Entra ID ---------------------------------------------------------------------------------------------------------


def test_entra_create_keeps_title_department_and_employee_number_and_drops_phones_and_addresses(acme):
    user = create(acme, entra_validator_user())
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.title, employee.department, employee.employee_number) == (
        "Principal Engineer", "Platform", "UVFGABTNSFTG")
    assert user["title"] == "Principal Engineer"
    assert user[ENTERPRISE] == {"employeeNumber": "UVFGABTNSFTG", "department": "Platform"}
    assert user["schemas"] == [USER, ENTERPRISE]
    # Accepted, not kept: no phone number, office address, language or cost centre is stored anywhere.
    assert not {"phoneNumbers", "addresses", "preferredLanguage", "roles", "nickName"} & set(user)
    kept = stored_text(employee)
    for dropped in (PHONE, OFFICE, "sr-Latn-RS", "DOEHSQTDYUNN", "DVILABHTDNGE", "Africa/Libreville"):
        assert dropped not in kept
    assert acme.client.get(f"Users/{user['id']}").json() == user


def test_entra_default_mappings_patch_is_accepted_and_the_directory_fields_are_stored(acme):
    user = create(acme, new_user())
    # One PATCH per changed user, each default mapping as its own operation, ops capitalised (Entra's form).
    changed = patch(acme, user["id"],
                    {"op": "Add", "path": "title", "value": "Head of People"},
                    {"op": "Add", "path": "preferredLanguage", "value": "en-GB"},
                    {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+44 20 7946 0000"},
                    {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 7700 900000"},
                    {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": OFFICE},
                    {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "SW1A 1AA"},
                    {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "People"},
                    {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E1234"},
                    {"op": "Add", "path": f"{ENTERPRISE}:costCenter", "value": "CC-7"})
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.title, employee.department, employee.employee_number) == ("Head of People", "People", "E1234")
    assert changed["title"] == "Head of People"
    assert changed[ENTERPRISE] == {"employeeNumber": "E1234", "department": "People"}
    kept = stored_text(employee)
    assert "+44" not in kept and OFFICE not in kept and "CC-7" not in kept and "en-GB" not in kept

    # Replace and Remove on the same paths.
    changed = patch(acme, user["id"], {"op": "Replace", "path": "title", "value": "Chief People Officer"},
                    {"op": "Remove", "path": f"{ENTERPRISE}:department"},
                    {"op": "Remove", "path": 'phoneNumbers[type eq "work"].value'})
    employee.refresh_from_db()
    assert (employee.title, employee.department) == ("Chief People Officer", "")
    assert changed[ENTERPRISE] == {"employeeNumber": "E1234"}


def test_entra_validator_replace_without_path_sets_every_mapping_at_once(acme):
    user = create(acme, entra_validator_user())
    changed = patch(acme, user["id"],
                    {"op": "replace", "path": 'emails[type eq "work"].value', "value": "elbert@murphy.us"},
                    {"op": "replace", "path": 'emails[type eq "work"].primary', "value": True},
                    {"op": "replace", "path": 'addresses[type eq "work"].formatted', "value": "VFPRNMVLQPFG"},
                    {"op": "replace", "path": 'addresses[type eq "work"].country', "value": "Namibia"},
                    {"op": "replace", "path": 'phoneNumbers[type eq "fax"].value', "value": "33-749-9990"},
                    {"op": "replace", "path": 'roles[primary eq "True"].value', "value": "JVQBTZOTYYVB"},
                    {"op": "replace", "value": {
                        "active": True, "displayName": "Janessa Eloy", "title": "GWJZNRYZYFWD",
                        "preferredLanguage": "dsb-DE", "name.givenName": "Janessa", "name.familyName": "Eloy",
                        "name.middleName": "Amanda", "name.honorificPrefix": "Cheyenne",
                        f"{ENTERPRISE}:employeeNumber": "PQFWQUWGUFQK", f"{ENTERPRISE}:department": "ERQODAWELTIZ",
                        f"{ENTERPRISE}:costCenter": "LTQKRXTPYGIA", f"{ENTERPRISE}:organization": "TLHYWCPUMAVI",
                        f"{ENTERPRISE}:division": "XOHRCGTBDZFH", "userType": "KFZAEDZCBHLI",
                        "nickName": "XELTCHWSZKDN", "locale": "KDEDZZBGRAOB", "timezone": "America/Belize",
                        "profileUrl": "EEASFOPRMBDT"}})
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.email, employee.name, employee.title) == ("elbert@murphy.us", "Janessa Eloy", "GWJZNRYZYFWD")
    assert (employee.department, employee.employee_number) == ("ERQODAWELTIZ", "PQFWQUWGUFQK")
    assert changed["name"]["givenName"] == "Janessa" and changed["title"] == "GWJZNRYZYFWD"
    assert "33-749-9990" not in stored_text(employee)


def test_entra_sets_the_manager_by_id_after_both_users_exist_and_removes_it(acme):
    boss = create(acme, new_user("grace@acme.example", displayName="Grace Hopper"))
    ada = create(acme, new_user("ada@acme.example", displayName="Ada Lovelace"))
    # Entra's reference attribute: the manager's id in this app, as a bare string (not {"value": id}).
    changed = patch(acme, ada["id"], {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]})
    employee = Employee.objects.get(pk=int(ada["id"]))
    assert employee.manager_id == int(boss["id"]) and employee.manager_display == "Grace Hopper"
    boss_url = "http://testserver" + url_of("scim:user", boss["id"])
    assert changed[ENTERPRISE]["manager"] == {"value": boss["id"], "$ref": boss_url}
    # Read back exactly as written, so Entra's next comparison finds nothing to change.
    assert acme.client.get(f"Users/{ada['id']}").json()[ENTERPRISE] == changed[ENTERPRISE]

    removed = patch(acme, ada["id"], {"op": "Remove", "path": f"{ENTERPRISE}:manager"})
    employee.refresh_from_db()
    assert employee.manager is None and ENTERPRISE not in removed


def test_deleting_the_manager_unlinks_their_reports(acme):
    boss = create(acme, new_user("grace@acme.example"))
    ada = create(acme, {**new_user("ada@acme.example"), ENTERPRISE: {"manager": {"value": boss["id"]}}})
    assert acme.client.delete(f"Users/{boss['id']}").status_code == 204
    assert Employee.objects.get(pk=int(ada["id"])).manager is None
    assert ENTERPRISE not in acme.client.get(f"Users/{ada['id']}").json()


def test_a_manager_id_from_another_organization_links_nobody(acme, globex):
    outsider = create(globex, new_user("ceo@globex.example", displayName="Globex CEO"))
    ada = create(acme, new_user("ada@acme.example"))
    changed = patch(acme, ada["id"], {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": outsider["id"]})
    employee = Employee.objects.get(pk=int(ada["id"]))
    assert employee.manager is None and employee.manager_display == ""
    assert ENTERPRISE not in changed and "Globex" not in json.dumps(changed)
    assert not Employee.objects.get(pk=int(outsider["id"])).reports.exists()


def test_a_user_cannot_be_their_own_manager(acme):
    ada = create(acme, new_user("ada@acme.example"))
    response = acme.client.patch(f"Users/{ada['id']}", patch_op(
        {"op": "Add", "path": "title", "value": "Countess"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": ada["id"]}))
    assert_scim_error(response, 400, "invalidValue")
    assert "own manager" in response.json()["detail"]
    assert Employee.objects.get(pk=int(ada["id"])).title == ""  # the whole PATCH failed


@pytest.mark.parametrize("path,value,field", [
    ("title", "x" * 201, "title"),
    (f"{ENTERPRISE}:department", "x" * 201, "department"),
    (f"{ENTERPRISE}:employeeNumber", "1" * 65, "employeeNumber"),
    (f"{ENTERPRISE}:manager", {"value": "1", "displayName": "x" * 201}, "manager.displayName"),
    ("title", ["not", "a", "string"], "title"),
    (f"{ENTERPRISE}:manager", ["1"], "manager.value"),
])
def test_directory_fields_over_their_limits_are_refused_naming_the_field(acme, path, value, field):
    ada = create(acme, {**new_user("ada@acme.example"), "title": "Countess"})
    response = acme.client.patch(f"Users/{ada['id']}", patch_op({"op": "replace", "path": path, "value": value}))
    assert_scim_error(response, 400, "invalidValue")
    assert f"'{field}'" in response.json()["detail"]
    assert Employee.objects.get(pk=int(ada["id"])).title == "Countess"


# Okta --------------------------------------------------------------------------------------------------------------


def test_okta_create_with_password_and_locale_keeps_neither(acme):
    body = {"schemas": [USER], "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [],
            "password": "1mz050nq", "active": True}
    user = create(acme, body)
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.email, employee.name, employee.external_id) == (
        "test.user@okta.local", "Test User", "00ujl29u0le5T6Aj10h7")
    assert "1mz050nq" not in stored_text(employee) and "password" not in user and "locale" not in user


def test_okta_put_with_its_enterprise_profile_keeps_a_manager_who_is_not_provisioned_by_name(acme):
    user = create(acme, new_user("test.user@okta.local"))
    # Okta's enterprise mapping: managerId (often an HR id, not our id) -> manager.value, manager -> displayName.
    body = {**new_user("test.user@okta.local"), "id": user["id"], "title": "Engineer",
            ENTERPRISE: {"employeeNumber": "1042", "department": "R&D", "costCenter": "42",
                         "manager": {"value": "00u1ab2cd3EF4gh5i6j7", "displayName": "Jane Boss"}}}
    response = acme.client.put(f"Users/{user['id']}", body)
    assert response.status_code == 200, response.content
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.title, employee.department, employee.employee_number) == ("Engineer", "R&D", "1042")
    assert employee.manager is None and employee.manager_name == "Jane Boss" and employee.manager_display == "Jane Boss"
    assert response.json()[ENTERPRISE] == {"employeeNumber": "1042", "department": "R&D",
                                           "manager": {"displayName": "Jane Boss"}}


def okta_group(org) -> dict:
    response = org.client.post("Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert response.status_code == 201, response.content
    return response.json()


def test_okta_group_rename_restating_the_same_id_is_accepted(acme):
    group = okta_group(acme)
    response = acme.client.patch(f"Groups/{group['id']}", patch_op(
        {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv20"}}))
    assert response.status_code == 200, response.content
    assert response.json()["displayName"] == "Test SCIMv20" and response.json()["id"] == group["id"]
    assert Team.objects.get(pk=int(group["id"])).name == "Test SCIMv20"


@pytest.mark.parametrize("operation", [
    {"op": "replace", "value": {"id": "999999", "displayName": "Renamed"}},
    {"op": "replace", "path": "id", "value": "999999"},
    {"op": "remove", "path": "id"},
])
def test_changing_a_group_id_is_still_refused(acme, operation):
    group = okta_group(acme)
    response = acme.client.patch(f"Groups/{group['id']}", patch_op(operation))
    assert_scim_error(response, 400, "mutability")
    assert Team.objects.get(pk=int(group["id"])).name == "Test SCIMv2"


def test_a_user_patch_restating_its_own_id_is_accepted_and_another_id_is_not(acme):
    ada = create(acme, new_user("ada@acme.example"))
    same = patch(acme, ada["id"], {"op": "replace", "value": {"id": ada["id"], "active": False}})
    assert same["active"] is False
    other = acme.client.patch(f"Users/{ada['id']}", patch_op({"op": "replace", "value": {"id": "1", "active": True}}))
    assert_scim_error(other, 400, "mutability")
    assert not Employee.objects.get(pk=int(ada["id"])).active


def test_okta_membership_update_removes_by_filter_and_adds(acme):
    group = okta_group(acme)
    first = create(acme, new_user("first@okta.local"))
    second = create(acme, new_user("second@okta.local"))
    acme.client.patch(f"Groups/{group['id']}", patch_op(
        {"op": "add", "path": "members", "value": [{"value": first["id"], "display": "first@okta.local"}]}))
    response = acme.client.patch(f"Groups/{group['id']}", patch_op(
        {"op": "remove", "path": f'members[value eq "{first["id"]}"]'},
        {"op": "add", "path": "members", "value": [{"value": second["id"], "display": "second@okta.local"}]}))
    assert response.status_code == 200, response.content
    team = Team.objects.get(pk=int(group["id"]))
    assert list(team.employees.values_list("pk", flat=True)) == [int(second["id"])]
    assert ScimGroup.objects.filter(team=team).exists()
