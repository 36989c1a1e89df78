"""Groups are teams: create, look up by displayName, change members, rename, delete."""
from __future__ import annotations

import pytest

from teams.models import Employee, Team
from tests.factories import make_employee
from tests.urls import url_of

from .conftest import patch_op
from .test_auth import assert_scim_error

pytestmark = pytest.mark.django_db

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def test_group_lifecycle(acme):
    ada = make_employee(acme.org, email="ada@acme.example")
    bob = make_employee(acme.org, email="bob@acme.example")
    response = acme.client.post("Groups", {"schemas": [GROUP], "displayName": "Research", "externalId": "g-1",
                                           "members": [{"value": str(ada.pk)}]})
    assert response.status_code == 201, response.content
    group = response.json()
    team = Team.objects.get(pk=int(group["id"]))
    assert team.organization == acme.org and team.name == "Research"
    assert group["members"] == [{"value": str(ada.pk), "$ref": "http://testserver" + url_of("scim:user", ada.pk),
                                 "type": "User"}]
    assert group["externalId"] == "g-1" and group["meta"]["resourceType"] == "Group"
    # The user shows the group (read-only).
    assert acme.client.get(f"Users/{ada.pk}").json()["groups"][0]["display"] == "Research"

    found = acme.client.get('Groups?filter=displayName eq "research"').json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]

    patched = acme.client.patch(f"Groups/{group['id']}", patch_op(
        {"op": "Add", "path": "members", "value": [{"value": str(bob.pk)}]},
        {"op": "Remove", "path": f'members[value eq "{ada.pk}"]'},
        {"op": "Replace", "path": "displayName", "value": "R&D"})).json()
    assert [m["value"] for m in patched["members"]] == [str(bob.pk)] and patched["displayName"] == "R&D"
    ada.refresh_from_db(), bob.refresh_from_db()
    assert ada.team is None and bob.team_id == team.pk

    # Entra removes members by value in the operation's value.
    emptied = acme.client.patch(f"Groups/{group['id']}", patch_op(
        {"op": "Remove", "path": "members", "value": [{"value": str(bob.pk)}]})).json()
    assert "members" not in emptied

    assert acme.client.delete(f"Groups/{group['id']}").status_code == 204
    assert not Team.objects.filter(pk=team.pk).exists()
    assert Employee.objects.filter(pk__in=[ada.pk, bob.pk]).count() == 2  # members stay, without a team
    assert_scim_error(acme.client.get(f"Groups/{group['id']}"), 404)


def test_joining_a_group_moves_a_user_out_of_their_last_one(acme):
    ada = make_employee(acme.org, email="ada@acme.example")
    first = acme.client.post("Groups", {"displayName": "A", "members": [{"value": str(ada.pk)}]}).json()
    second = acme.client.post("Groups", {"displayName": "B", "members": [{"value": str(ada.pk)}]}).json()
    assert "members" not in acme.client.get(f"Groups/{first['id']}").json()
    assert len(acme.client.get(f"Groups/{second['id']}").json()["members"]) == 1


def test_group_errors(acme, globex):
    outsider = make_employee(globex.org, email="gus@globex.example")
    acme.client.post("Groups", {"displayName": "Research"})
    assert_scim_error(acme.client.post("Groups", {"displayName": "research"}), 409, "uniqueness")
    assert_scim_error(acme.client.post("Groups", {"members": []}), 400, "invalidValue")
    # Another organization's employee can't be made a member.
    assert_scim_error(acme.client.post("Groups", {"displayName": "X", "members": [{"value": str(outsider.pk)}]}),
                      400, "invalidValue")
    assert_scim_error(acme.client.post("Groups", {"displayName": "Y", "members": [{"value": "1", "type": "Group"}]}),
                      400, "invalidValue")
    assert_scim_error(acme.client.get('Groups?filter=members eq "1"'), 400, "invalidFilter")
    assert not Team.objects.filter(name__in=["X", "Y"]).exists()
    outsider.refresh_from_db()
    assert outsider.team is None


def test_groups_are_per_organization(acme, globex):
    group = acme.client.post("Groups", {"displayName": "Research"}).json()
    assert_scim_error(globex.client.get(f"Groups/{group['id']}"), 404)
    assert_scim_error(globex.client.delete(f"Groups/{group['id']}"), 404)
    assert globex.client.get("Groups").json()["totalResults"] == 0
    assert globex.client.post("Groups", {"displayName": "Research"}).status_code == 201


def test_search_at_the_root_covers_users_then_groups(acme):
    ada = make_employee(acme.org, name="Ada", email="ada@acme.example")
    bob = make_employee(acme.org, name="Bob", email="bob@acme.example")
    group = acme.client.post("Groups", {"displayName": "Research"}).json()

    def search(**body):
        response = acme.client.post(".search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                                **body})
        assert response.status_code == 200, response.content
        return response.json()

    everything = search()
    assert everything["totalResults"] == 3
    assert [r["id"] for r in everything["Resources"]] == [str(ada.pk), str(bob.pk), group["id"]]
    assert everything["Resources"][2]["schemas"] == [GROUP]
    page = search(startIndex=2, count=2, attributes=["displayName"])
    assert [(r["id"], r.get("displayName")) for r in page["Resources"]] == [(str(bob.pk), "Bob"),
                                                                          (group["id"], "Research")]
    assert [r["id"] for r in search(filter='userName eq "bob@acme.example"')["Resources"]] == [str(bob.pk)]
    assert [r["id"] for r in search(filter='displayName eq "research"')["Resources"]] == [group["id"]]
    assert_scim_error(acme.client.post(".search", {"filter": 'nickName eq "x"'}), 400, "invalidFilter")
