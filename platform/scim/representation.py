"""Employees and teams as SCIM resources (reads), and the documents PUT/PATCH start from."""
from __future__ import annotations

import hashlib
import json

from teams.models import Employee, Team

from .discovery import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from .models import ScimGroup, ScimUser


def _scim_user(employee: Employee) -> ScimUser | None:
    try:
        return employee.scim
    except ScimUser.DoesNotExist:
        return None


def _scim_group(team: Team) -> ScimGroup | None:
    try:
        return team.scim
    except ScimGroup.DoesNotExist:
        return None


def _split_name(full: str) -> dict:
    given, _, family = full.strip().partition(" ")
    return {key: value for key, value in (("formatted", full), ("givenName", given), ("familyName", family)) if value}


def user_document(employee: Employee) -> dict:
    """The writable attributes of an employee, as SCIM sees them."""
    scim = _scim_user(employee)
    # What the directory wrote is shown as written, unless an admin changed the name/email here since.
    name_current = scim is not None and scim.written_name == employee.name
    email_current = scim is not None and scim.written_email == employee.email
    document = {
        "userName": scim.user_name if scim else employee.email,
        "name": scim.name if name_current else _split_name(employee.name),
        "displayName": (scim.display_name or None) if name_current else employee.name,
        "emails": (scim.emails if email_current and scim.emails
                   else [{"value": employee.email, "type": "work", "primary": True}]),
        "active": employee.active,
        "externalId": employee.external_id or None,
        "title": employee.title or None,
    }
    # The manager as the directory wrote it: their id when it links one of our people, and the displayName it sent,
    # if any (Entra's guide: return values as they were sent; a read-back that differs makes it PATCH again).
    manager = {"value": str(employee.manager_id) if employee.manager_id else None,
               "displayName": employee.manager_name or None}
    enterprise = {"employeeNumber": employee.employee_number or None, "department": employee.department or None,
                  "manager": {k: v for k, v in manager.items() if v is not None} or None}
    document[ENTERPRISE_SCHEMA] = {k: v for k, v in enterprise.items() if v is not None}
    return {key: value for key, value in document.items() if value not in (None, {}, [])}


def user_resource(employee: Employee, base_url: str) -> dict:
    document = user_document(employee)
    manager = document.get(ENTERPRISE_SCHEMA, {}).get("manager")
    if manager and employee.manager_id:
        manager["$ref"] = f"{base_url}/Users/{employee.manager_id}"
    if employee.team_id:
        team = employee.team
        document["groups"] = [{"value": str(team.pk), "$ref": f"{base_url}/Groups/{team.pk}", "display": team.name}]
    scim = _scim_user(employee)
    modified = max(filter(None, [employee.updated_at, scim.updated_at if scim else None]))
    return _resource(document, schemas=[USER_SCHEMA] + ([ENTERPRISE_SCHEMA] if ENTERPRISE_SCHEMA in document else []),
                     resource_id=str(employee.pk), resource_type="User", created=employee.created_at,
                     modified=modified, location=f"{base_url}/Users/{employee.pk}")


def group_document(team: Team, base_url: str) -> dict:
    scim = _scim_group(team)
    if hasattr(team, "member_list"):  # prefetched by a list of groups
        pks = [employee.pk for employee in team.member_list]
    else:
        pks = (Employee.objects.for_organization(team.organization).filter(team=team)
               .order_by("id").values_list("pk", flat=True))
    members = [{"value": str(pk), "$ref": f"{base_url}/Users/{pk}", "type": "User"} for pk in pks]
    document = {"displayName": team.name, "members": members, "externalId": scim.external_id if scim else None}
    return {key: value for key, value in document.items() if value not in (None, "", [])}


def group_resource(team: Team, base_url: str) -> dict:
    scim = _scim_group(team)
    modified = scim.updated_at if scim else team.created_at
    return _resource(group_document(team, base_url), schemas=[GROUP_SCHEMA], resource_id=str(team.pk),
                     resource_type="Group", created=team.created_at, modified=modified,
                     location=f"{base_url}/Groups/{team.pk}")


def _resource(document: dict, *, schemas, resource_id, resource_type, created, modified, location) -> dict:
    body = {"schemas": schemas, "id": resource_id, **document}
    # A weak ETag over the representation: it changes exactly when what a client can read changes.
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:20]
    body["meta"] = {"resourceType": resource_type, "created": created.isoformat(),
                    "lastModified": max(created, modified).isoformat(), "location": location,
                    "version": f'W/"{digest}"'}
    return body
