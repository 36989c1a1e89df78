"""SCIM writes: tokens, and users/groups written through the teams services (which send the domain signals).

Deleting a SCIM user deletes the employee and their data (selfies, headshots) via `employee_delete`: a directory
deletes a user when the person has left for good; one that only deactivates sends `active: false`, which keeps the
data but ends access (membership and tokens go) and stops photo pushes.
"""
from __future__ import annotations

import logging
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.services import IssuedInvite
from audit.services import record_in_transaction
from config.request_input import ascii_id
from teams.employees import employee_create, employee_delete, employee_update
from teams.errors import TeamsError
from teams.invites import employee_invite_send
from teams.models import (
    DEPARTMENT_MAX_LENGTH,
    EMPLOYEE_NUMBER_MAX_LENGTH,
    MANAGER_NAME_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Employee,
    Team,
)
from tenancy.models import Membership, Organization

from .discovery import ENTERPRISE_SCHEMA
from .errors import ScimError, invalid_value
from .models import ScimGroup, ScimToken, ScimUser, hash_secret

log = logging.getLogger(__name__)

TOKEN_PREFIX = "scim_"


# Tokens -------------------------------------------------------------------------------------------------------


def scim_token_create(*, organization: Organization, created_by: User | None, name: str = "") -> tuple[ScimToken, str]:
    """Issue a token; the secret is returned here once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ScimToken.objects.create(organization=organization, name=name.strip(), prefix=secret[:12],
                                         secret_hash=hash_secret(secret), created_by=created_by)
        record_in_transaction(action="scim_token.created", organization=organization, actor=created_by,
                              object=token)
    return token, secret


def scim_token_revoke(*, token: ScimToken) -> ScimToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_in_transaction(action="scim_token.revoked", organization=token.organization_id, object=token)
    return token


def scim_token_authenticate(secret: str) -> ScimToken | None:
    """The live token with this secret, or None; the organization comes from the token, never from the request."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (ScimToken.objects.select_related("organization")
             .filter(secret_hash=hash_secret(secret), revoked_at__isnull=True).first())
    if token is not None and (token.last_used_at is None
                              or (timezone.now() - token.last_used_at).total_seconds() > 60):
        # At most one write a minute per token: a sync of thousands of users shouldn't write thousands of times.
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


# Users --------------------------------------------------------------------------------------------------------


def _string(document: dict, key: str, *, required: bool = False, limit: int = 200, label: str | None = None) -> str:
    value, label = document.get(key), label or key
    if value is None or value == "":
        if required:
            raise invalid_value(f"'{label}' is required.")
        return ""
    if not isinstance(value, str):
        raise invalid_value(f"'{label}' must be a string.")
    if len(value.strip()) > limit:
        raise invalid_value(f"'{label}' is longer than {limit} characters.")
    return value.strip()


def _boolean(value, key: str) -> bool:
    # Entra sends booleans as strings ("False") in PATCH values.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f"'{key}' must be true or false.")


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _clean_user(document: dict, *, active: bool = True) -> dict:
    """Check a User document and return what is stored where (raises 400 invalidValue)."""
    user_name = _string(document, "userName", required=True, limit=254)
    name = document.get("name") or {}
    if not isinstance(name, dict) or not all(isinstance(v, str) for v in name.values() if v is not None):
        raise invalid_value("'name' must be an object of strings (formatted, givenName, familyName).")
    name = {k: v.strip() for k, v in name.items() if k in ("formatted", "givenName", "familyName") and v}
    display_name = _string(document, "displayName")
    emails = document.get("emails") or []
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise invalid_value("'emails' must be a list of objects.")
    cleaned_emails = []
    for email in emails:
        value = email.get("value")
        if not isinstance(value, str) or not _is_email(value.strip()):
            raise invalid_value(f"{value!r} is not a valid email address.")
        item = {"value": value.strip()}
        if email.get("type") is not None:
            if not isinstance(email["type"], str):
                raise invalid_value("An email's 'type' must be a string.")
            item["type"] = email["type"]
        if email.get("primary") is not None:
            item["primary"] = _boolean(email["primary"], "emails.primary")
        cleaned_emails.append(item)
    if sum(1 for e in cleaned_emails if e.get("primary")) > 1:
        raise invalid_value("At most one email can be primary.")
    work = (next((e for e in cleaned_emails if e.get("primary")), None)
            or next((e for e in cleaned_emails if str(e.get("type", "")).lower() == "work"), None)
            or (cleaned_emails[0] if cleaned_emails else None))
    email = work["value"] if work else (user_name if _is_email(user_name) else "")
    if not email:
        raise invalid_value("A user needs an email address: a work email in 'emails', or an email as 'userName'.")
    extension = document.get(ENTERPRISE_SCHEMA) or {}
    if not isinstance(extension, dict):
        raise invalid_value(f"'{ENTERPRISE_SCHEMA}' must be an object.")
    manager = extension.get("manager") or {}
    if isinstance(manager, (str, int)) and not isinstance(manager, bool):
        manager = {"value": str(manager)}  # Entra: the manager's id itself (the MS guide's example does this)
    if not isinstance(manager, dict):
        raise invalid_value("'manager' must be an object: {\"value\": the manager's id, \"displayName\": their name}.")
    if isinstance(manager.get("value"), int) and not isinstance(manager.get("value"), bool):
        manager = {**manager, "value": str(manager["value"])}
    manager_ref = manager.get("$ref")
    if not manager.get("value") and isinstance(manager_ref, str):
        manager = {**manager, "value": manager_ref.rstrip("/").rsplit("/", 1)[-1]}
    given_family = " ".join(filter(None, [name.get("givenName"), name.get("familyName")]))
    return {
        "user_name": user_name, "name": name, "display_name": display_name, "emails": cleaned_emails,
        "email": email.lower(),
        "employee_name": (display_name or name.get("formatted") or given_family or user_name)[:200],
        "active": _boolean(document["active"], "active") if document.get("active") is not None else active,
        "external_id": _string(document, "externalId"),
        "title": _string(document, "title", limit=TITLE_MAX_LENGTH),
        "employee_number": _string(extension, "employeeNumber", limit=EMPLOYEE_NUMBER_MAX_LENGTH),
        "department": _string(extension, "department", limit=DEPARTMENT_MAX_LENGTH),
        "manager_value": _string(manager, "value", label="manager.value"),
        "manager_name": _string(manager, "displayName", limit=MANAGER_NAME_MAX_LENGTH, label="manager.displayName"),
    }


def _directory_fields(organization: Organization, values: dict) -> dict:
    """The employee's directory fields from a cleaned User document.

    manager.value is the id of the manager's SCIM resource (RFC 7643 §4.3): it links the manager's employee
    record when it names one of this organization's people. Any other value (Okta's managerId is often an HR id)
    links nobody; the displayName sent with it is still kept as the manager's name.
    """
    value = values["manager_value"]
    manager = None
    if value.isascii() and value.isdigit() and len(value) <= 18:  # an id, and one a bigint holds
        manager = Employee.objects.for_organization(organization).filter(pk=int(value)).first()
    return {"title": values["title"], "department": values["department"],
            "employee_number": values["employee_number"], "manager": manager, "manager_name": values["manager_name"]}


def _user_name_taken(organization: Organization, user_name: str, exclude: Employee | None) -> bool:
    scope = Employee.objects.for_organization(organization)
    if exclude is not None:
        scope = scope.exclude(pk=exclude.pk)
    # Employees the directory never wrote to answer to their email as userName.
    return scope.filter(Q(scim__user_name__iexact=user_name) | Q(scim__isnull=True, email__iexact=user_name)).exists()


def _teams_error(exc: TeamsError) -> ScimError:
    if exc.status == 409:
        # A duplicate is "uniqueness"; a rule like "the last owner stays" has no scimType of its own.
        return ScimError(409, exc.message, "uniqueness" if exc.code.startswith("duplicate_") else None)
    return invalid_value(exc.message)


def scim_user_create(*, organization: Organization, document: dict, invited_by: User | None) -> Employee:
    """Create the employee and invite them (an active user gets the same invite email as from the admin API)."""
    values = _clean_user(document)
    if _user_name_taken(organization, values["user_name"], None):
        raise ScimError(409, f"A user with the userName {values['user_name']} already exists.", "uniqueness")
    try:
        with transaction.atomic():
            employee = employee_create(organization=organization, name=values["employee_name"],
                                       email=values["email"], external_id=values["external_id"],
                                       **_directory_fields(organization, values))
            if not values["active"]:
                employee_update(employee=employee, active=False)
            _save_scim_user(employee, values)
    except TeamsError as exc:
        raise _teams_error(exc) from None
    if employee.active:
        invite_send(employee=employee, invited_by=invited_by)
    return employee


def scim_user_replace(*, employee: Employee, document: dict, invited_by: User | None) -> Employee:
    """PUT (and the end of every PATCH): the employee becomes exactly what the document says."""
    values = _clean_user(document, active=employee.active)
    if _user_name_taken(employee.organization, values["user_name"], employee):
        raise ScimError(409, f"A user with the userName {values['user_name']} already exists.", "uniqueness")
    was_active = employee.active
    try:
        with transaction.atomic():
            employee = employee_update(employee=employee, name=values["employee_name"], email=values["email"],
                                       external_id=values["external_id"], active=values["active"],
                                       **_directory_fields(employee.organization, values))
            _save_scim_user(employee, values)
    except TeamsError as exc:
        raise _teams_error(exc) from None
    if employee.active and not was_active and not _has_membership(employee):
        # Reactivated: deactivation ended their membership, so they need a fresh invite to get back in.
        invite_send(employee=employee, invited_by=invited_by)
    return employee


def _has_membership(employee: Employee) -> bool:
    return bool(employee.user_id) and Membership.objects.filter(organization=employee.organization,
                                                                user_id=employee.user_id).exists()


def _save_scim_user(employee: Employee, values: dict) -> None:
    ScimUser.objects.update_or_create(employee=employee, defaults={
        "organization": employee.organization, "user_name": values["user_name"], "name": values["name"],
        "display_name": values["display_name"], "emails": values["emails"], "written_name": employee.name,
        "written_email": employee.email})


def scim_user_delete(*, employee: Employee) -> None:
    try:
        employee_delete(employee=employee)
    except TeamsError as exc:  # the organization's last owner: 409, as for every other way of ending them
        raise _teams_error(exc) from None


def invite_send(*, employee: Employee, invited_by: User | None) -> IssuedInvite | None:
    """Invite the employee exactly as the admin portal does (a fresh single-use link, the same email text).

    Called after the user is committed. A mail server failure is logged, not raised: the user exists either way,
    and the directory would otherwise retry a create that now answers 409.
    """
    try:
        return employee_invite_send(employee=employee, invited_by=invited_by)
    except Exception:
        log.exception("SCIM: the invite for employee %s of organization %s could not be sent (the user is created)",
                      employee.pk, employee.organization_id)
        return None


# Groups (teams) ---------------------------------------------------------------------------------------------------


def _clean_group(organization: Organization, document: dict) -> dict:
    display_name = _string(document, "displayName", required=True)
    members = document.get("members") or []
    if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
        raise invalid_value("'members' must be a list of objects.")
    ids = []
    for member in members:
        if str(member.get("type") or "User").lower() != "user":
            raise invalid_value("Only users can be members of a group (teams don't nest).")
        value = str(member.get("value") or "")
        if (pk := ascii_id(value)) is None:  # "²".isdigit() is true too, and int() of it raised
            raise invalid_value(f"{value!r} is not the id of a user.")
        ids.append(pk)
    found = set(Employee.objects.for_organization(organization).filter(pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise invalid_value(f"No user with the id {', '.join(missing)}.")
    return {"name": display_name, "member_ids": set(ids), "external_id": _string(document, "externalId")}


def scim_group_create(*, organization: Organization, document: dict) -> Team:
    values = _clean_group(organization, document)
    if Team.objects.for_organization(organization).filter(name__iexact=values["name"]).exists():
        raise ScimError(409, f"A group named {values['name']} already exists.", "uniqueness")
    with transaction.atomic():
        team = Team.objects.create(organization=organization, name=values["name"])
        _write_group(team, values)
    return team


def scim_group_replace(*, team: Team, document: dict) -> Team:
    values = _clean_group(team.organization, document)
    existing = Team.objects.for_organization(team.organization)
    if existing.filter(name__iexact=values["name"]).exclude(pk=team.pk).exists():
        raise ScimError(409, f"A group named {values['name']} already exists.", "uniqueness")
    with transaction.atomic():
        if team.name != values["name"]:
            team.name = values["name"]
            team.save(update_fields=["name"])
        _write_group(team, values)
    return team


def _write_group(team: Team, values: dict) -> None:
    employees = Employee.objects.for_organization(team.organization)
    # An employee is in one team at most: joining this one moves them out of their last one.
    for employee in employees.filter(team=team).exclude(pk__in=values["member_ids"]):
        employee_update(employee=employee, team=None)
    for employee in employees.filter(pk__in=values["member_ids"]).exclude(team=team):
        employee_update(employee=employee, team=team)
    scim, _ = ScimGroup.objects.get_or_create(team=team, defaults={"organization": team.organization})
    scim.external_id = values["external_id"]
    scim.save()  # also moves updated_at, the group's lastModified


def scim_group_delete(*, team: Team) -> None:
    with transaction.atomic():
        for employee in Employee.objects.for_organization(team.organization).filter(team=team):
            employee_update(employee=employee, team=None)
        team.delete()
