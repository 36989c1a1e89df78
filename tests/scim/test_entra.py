"""The request sequence Microsoft Entra ID sends, with the payload shapes from Microsoft's SCIM endpoint guide."""
from __future__ import annotations

import pytest
from django.core import mail

from teams.models import Employee, Team

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_entra_provisioning_cycle(acme, django_capture_on_commit_callbacks):
    client = acme.client
    # "Test connection": a filter for a user that doesn't exist.
    probe = client.get('Users?filter=userName eq "non-existent user"')
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0

    # Create: userName is the UPN (not necessarily a mailbox); the work email is in emails; unknown attributes
    # (roles) and read-only ones (meta) are ignored.
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
        }, content_type="application/json")
    assert created.status_code == 201, created.content
    user = created.json()
    employee = Employee.objects.get(pk=int(user["id"]))
    assert employee.email == "test_user_fd0ea19b@testuser.com" and employee.name == "givenName familyName"
    assert employee.external_id == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert mail.outbox[0].to == ["test_user_fd0ea19b@testuser.com"]

    # Lookups by userName and by externalId, then the attribute changes Entra sends.
    found = client.get('Users?filter=userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"').json()
    assert [r["id"] for r in found["Resources"]] == [user["id"]]
    changed = client.patch(f"Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "12345"},
    ]})
    assert changed.status_code == 200, changed.content
    employee.refresh_from_db()
    assert employee.email == "updatedemail@microsoft.com"
    assert employee.employee_number == "12345"
    assert changed.json()["name"]["familyName"] == "updatedFamilyName"

    # Group with a member added the Entra way ($ref null), then removed by value.
    group = client.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                                   "displayName": "displayName", "members": [],
                                   "meta": {"resourceType": "Group"}}).json()
    added = client.patch(f"Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}]})
    assert added.status_code == 200, added.content
    employee.refresh_from_db()
    assert employee.team == Team.objects.get(pk=int(group["id"]))
    client.patch(f"Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}]})
    employee.refresh_from_db()
    assert employee.team is None

    # Unassigned from the app: Entra deactivates with a string boolean ...
    off = client.patch(f"Users/{user['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert off.json()["active"] is False
    employee.refresh_from_db()
    assert not employee.active
    # ... and deletes when the user is deleted in Entra.
    assert client.delete(f"Users/{user['id']}").status_code == 204
    assert not Employee.objects.filter(pk=employee.pk).exists()
