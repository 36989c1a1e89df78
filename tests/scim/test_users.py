"""Users are employees: create (and invite), read, filter, page, replace, deactivate and delete."""
from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import Invite
from teams.models import Employee
from tenancy.models import Membership, Role
from tests.factories import client_for, make_employee, make_user
from tests.urls import tenant_url, url_of

from .conftest import SCIM_JSON, new_user
from .test_auth import assert_scim_error

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_create_makes_the_employee_and_emails_the_invite(acme, django_capture_on_commit_callbacks):
    body = new_user("Ada@Acme.example", externalId="E-1", displayName="Ada Lovelace",
                    **{ENTERPRISE: {"employeeNumber": "1001"}})
    with django_capture_on_commit_callbacks(execute=True):
        response = acme.client.post("Users", body)
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith(SCIM_JSON)
    user = response.json()
    employee = Employee.objects.get(pk=int(user["id"]))
    assert (employee.organization, employee.email, employee.name, employee.external_id) == (
        acme.org, "ada@acme.example", "Ada Lovelace", "E-1")
    assert employee.employee_number == "1001" and employee.external_ids == {} and employee.active
    assert user["userName"] == "Ada@Acme.example"
    assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert user[ENTERPRISE] == {"employeeNumber": "1001"}
    assert user["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
    meta = user["meta"]
    assert meta["resourceType"] == "User" and meta["location"] == "http://testserver" + url_of("scim:user", employee.pk)
    assert meta["version"].startswith('W/"') and response["ETag"] == meta["version"]
    assert response["Location"] == meta["location"] and meta["created"] and meta["lastModified"]
    # The invite: the same email the admin portal sends, to the work address, with a working single-use link.
    invite = Invite.objects.get(employee=employee)
    assert invite.status == "pending" and invite.invited_by == acme.admin
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@acme.example"]
    assert "/invite/" in mail.outbox[0].body and "Acme" in mail.outbox[0].subject


def test_an_inactive_user_is_created_without_an_invite(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = acme.client.post("Users", new_user(active=False))
    assert response.status_code == 201 and response.json()["active"] is False
    assert not Employee.objects.get(pk=int(response.json()["id"])).active
    assert mail.outbox == [] and not Invite.objects.exists()


def test_duplicate_user_name_is_409_uniqueness(acme):
    make_employee(acme.org, email="ada@acme.example")  # made by an admin, not by SCIM: its userName is its email
    assert_scim_error(acme.client.post("Users", new_user("ADA@acme.example")), 409, "uniqueness")
    assert acme.client.post("Users", new_user("bob@acme.example")).status_code == 201
    other = new_user("robert", emails=[{"value": "robert@acme.example", "primary": True}])
    assert acme.client.post("Users", other).status_code == 201
    assert_scim_error(acme.client.post("Users", new_user("Robert", emails=[{"value": "r2@acme.example"}])),
                      409, "uniqueness")
    assert Employee.objects.filter(organization=acme.org).count() == 3


def test_the_same_email_in_another_organization_is_fine(acme, globex):
    assert acme.client.post("Users", new_user("ada@shared.example")).status_code == 201
    assert globex.client.post("Users", new_user("ada@shared.example")).status_code == 201


@pytest.mark.parametrize("body,detail", [
    ({"userName": ""}, "userName"),
    ({"userName": "not-an-email"}, "email"),
    ({"userName": "ada@acme.example", "emails": [{"value": "nope"}]}, "valid email"),
    ({"userName": "ada@acme.example", "active": "maybe"}, "active"),
    ({"userName": "ada@acme.example", "name": "Ada"}, "name"),
    ({"userName": "ada@acme.example", "emails": [{"value": "a@x.example", "primary": True},
                                                 {"value": "b@x.example", "primary": True}]}, "primary"),
])
def test_bad_users_get_400_invalid_value_and_nothing_is_stored(acme, body, detail):
    error = assert_scim_error(acme.client.post("Users", body), 400, "invalidValue")
    assert detail in error["detail"]
    assert not Employee.objects.exists()


def test_bad_json_and_media_type(acme):
    assert_scim_error(acme.client.client.post(url_of("scim:users"), "{nope", content_type=SCIM_JSON,
                                              headers=acme.client.headers), 400, "invalidSyntax")
    assert_scim_error(acme.client.client.post(url_of("scim:users"), "userName=x", content_type="text/plain",
                                              headers=acme.client.headers), 415)
    huge = new_user(displayName="x" * (6 * 1024 * 1024))
    assert_scim_error(acme.client.post("Users", huge), 413)
    # Plain application/json is accepted too.
    assert acme.client.post("Users", new_user(), content_type="application/json").status_code == 201


def test_get_by_id_and_unknown_ids(acme):
    ada = make_employee(acme.org, name="Ada Lovelace", email="ada@acme.example", external_id="E-1")
    user = acme.client.get(f"Users/{ada.pk}").json()
    assert user["userName"] == "ada@acme.example" and user["externalId"] == "E-1" and user["active"] is True
    assert user["name"] == {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"}
    assert user["emails"] == [{"value": "ada@acme.example", "type": "work", "primary": True}]
    assert_scim_error(acme.client.get("Users/999999"), 404)
    assert_scim_error(acme.client.get("Users/abc"), 404)


def test_filters(acme):
    ada = make_employee(acme.org, name="Ada", email="ada@acme.example", external_id="E-1")
    make_employee(acme.org, name="Bob", email="bob@acme.example", external_id="E-2")

    def found(expression):
        response = acme.client.client.get(url_of("scim:users"), {"filter": expression}, headers=acme.client.headers)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["Resources"]]

    assert found('userName eq "ADA@acme.example"') == [str(ada.pk)]
    assert found('externalId eq "E-1"') == [str(ada.pk)]
    assert found('externalId eq "e-1"') == []  # externalId is case-exact
    assert found('emails.value eq "ada@acme.example"') == [str(ada.pk)]
    assert found('emails eq "ada@acme.example"') == [str(ada.pk)]
    assert found('userName eq "ada@acme.example" and externalId eq "E-1"') == [str(ada.pk)]
    assert found('userName eq "ada@acme.example" AND externalId eq "E-2"') == []
    assert found('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@acme.example"') != []
    assert found('userName eq "nobody@acme.example"') == []


@pytest.mark.parametrize("expression", ['userName co "ada"', 'userName eq "a" or externalId eq "b"',
                                        'displayName eq "Ada"', "userName eq", '(userName eq "a")', "garbage"])
def test_unsupported_filters_are_400_invalid_filter(acme, expression):
    response = acme.client.client.get(url_of("scim:users"), {"filter": expression}, headers=acme.client.headers)
    assert_scim_error(response, 400, "invalidFilter")


def test_pagination(acme):
    ids = [make_employee(acme.org, email=f"p{i}@acme.example").pk for i in range(5)]
    page = acme.client.get("Users?startIndex=2&count=2").json()
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [r["id"] for r in page["Resources"]] == [str(i) for i in ids[1:3]]
    assert acme.client.get("Users?startIndex=5&count=10").json()["itemsPerPage"] == 1
    assert acme.client.get("Users?count=0").json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 5, "startIndex": 1,
        "itemsPerPage": 0, "Resources": []}
    assert acme.client.get("Users?startIndex=0").json()["startIndex"] == 1  # below 1 means 1 (RFC 7644 §3.4.2.4)
    assert_scim_error(acme.client.get("Users?count=many"), 400, "invalidValue")


def test_attributes_and_excluded_attributes(acme):
    ada = make_employee(acme.org, name="Ada Lovelace", email="ada@acme.example")
    only = acme.client.get(f"Users/{ada.pk}?attributes=userName,name.givenName").json()
    assert only == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": str(ada.pk),
                    "userName": "ada@acme.example", "name": {"givenName": "Ada"}}
    without = acme.client.get(f"Users/{ada.pk}?excludedAttributes=emails,name").json()
    assert "emails" not in without and "name" not in without and without["userName"] == "ada@acme.example"
    searched = acme.client.post("Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                  "filter": 'userName eq "ada@acme.example"',
                                                  "attributes": ["displayName"]}).json()
    assert searched["Resources"] == [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": str(ada.pk),
                                      "displayName": "Ada Lovelace"}]


def test_put_replaces_the_user(acme):
    created = acme.client.post("Users", new_user(externalId="E-1", **{ENTERPRISE: {"employeeNumber": "7"}})).json()
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "ignored",
            "userName": "ada.l@acme.example",
            "name": {"givenName": "Augusta", "familyName": "King"}, "active": True,
            "emails": [{"value": "home@ada.example", "type": "home"},
                       {"value": "ada.l@acme.example", "type": "work", "primary": True}]}
    response = acme.client.put(f"Users/{created['id']}", body)
    assert response.status_code == 200, response.content
    user = response.json()
    employee = Employee.objects.get(pk=int(created["id"]))
    assert (employee.email, employee.name, employee.external_id) == ("ada.l@acme.example", "Augusta King", "")
    assert employee.employee_number == ""  # employeeNumber left out of a PUT is cleared
    assert "externalId" not in user and ENTERPRISE not in user and user["id"] == created["id"]
    assert user["emails"] == body["emails"] and user["userName"] == "ada.l@acme.example"
    assert user["meta"]["version"] != created["meta"]["version"]


def test_put_to_another_users_email_is_409_and_changes_nothing(acme):
    make_employee(acme.org, email="bob@acme.example")
    ada = acme.client.post("Users", new_user()).json()
    response = acme.client.put(f"Users/{ada['id']}", new_user("bob@acme.example"))
    assert_scim_error(response, 409, "uniqueness")
    assert Employee.objects.get(pk=int(ada["id"])).email == "ada@acme.example"


def test_admin_edits_show_through_scim(acme):
    from teams.employees import employee_update

    ada = acme.client.post("Users", new_user(displayName="Ada L")).json()
    employee = Employee.objects.get(pk=int(ada["id"]))
    employee_update(employee=employee, name="Ada King", email="ada.king@acme.example")
    user = acme.client.get(f"Users/{ada['id']}").json()
    assert user["displayName"] == "Ada King" and user["name"]["formatted"] == "Ada King"
    assert user["emails"] == [{"value": "ada.king@acme.example", "type": "work", "primary": True}]
    assert user["userName"] == "ada@acme.example"  # the directory's identifier is the directory's


def test_deactivation_by_put_ends_access_and_keeps_the_data(acme):
    person = make_user(acme.org, Role.EMPLOYEE, email="ada@acme.example")
    employee = make_employee(acme.org, user=person)
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=person)
    response = acme.client.put(f"Users/{employee.pk}", new_user(active=False))
    assert response.status_code == 200 and response.json()["active"] is False
    employee.refresh_from_db()
    assert not employee.active and employee.deactivated_at is not None
    assert not Membership.objects.filter(user=person, organization=acme.org).exists()
    # The token is the person's, not the organization's: it stays, and opens nothing here from the next request.
    assert client_for(person).get(tenant_url("me", acme.org)).status_code == 404
    assert Employee.objects.filter(pk=employee.pk).exists()


def test_reactivation_sends_a_fresh_invite(acme, django_capture_on_commit_callbacks):
    person = make_user(acme.org, Role.EMPLOYEE, email="ada@acme.example")
    employee = make_employee(acme.org, user=person)
    acme.client.put(f"Users/{employee.pk}", new_user(active=False))
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        response = acme.client.put(f"Users/{employee.pk}", new_user(active=True))
    assert response.json()["active"] is True
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@acme.example"]


def test_delete_removes_the_employee_and_their_data(acme, django_capture_on_commit_callbacks):
    from teams.signals import employee_deleted

    employee = make_employee(acme.org, email="ada@acme.example", external_id="E-1")
    seen = []

    def receiver(**kwargs):
        seen.append(kwargs)

    employee_deleted.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = acme.client.delete(f"Users/{employee.pk}")
    finally:
        employee_deleted.disconnect(receiver)
    assert response.status_code == 204 and response.content == b""
    assert not Employee.objects.filter(pk=employee.pk).exists()
    assert [s["employee_id"] for s in seen] == [employee.pk]
    assert_scim_error(acme.client.get(f"Users/{employee.pk}"), 404)
    assert_scim_error(acme.client.delete(f"Users/{employee.pk}"), 404)


def test_etags(acme):
    ada = acme.client.post("Users", new_user()).json()
    version = ada["meta"]["version"]
    assert acme.client.get(f"Users/{ada['id']}", **{"If-None-Match": version}).status_code == 304
    stale = acme.client.put(f"Users/{ada['id']}", new_user(displayName="X"), **{"If-Match": 'W/"old"'})
    assert_scim_error(stale, 412)
    fresh = acme.client.put(f"Users/{ada['id']}", new_user(displayName="X"), **{"If-Match": version})
    assert fresh.status_code == 200 and fresh["ETag"] != version


def test_unknown_urls_and_methods_answer_in_scim_shape(acme):
    assert_scim_error(acme.client.get("Nope"), 404)
    refused = acme.client.delete("Users")
    assert_scim_error(refused, 405)
    assert refused["Allow"] == "GET, POST"
    assert_scim_error(acme.client.get(".search"), 405)
