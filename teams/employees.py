"""Employees and their CSV import: create, update, end access, delete."""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenancy.models import Organization
from tenancy.services import MembershipError, membership_end

from .errors import TeamsError
from .invites import employee_invites_revoke
from .models import (
    Employee,
    Selfie,
    Team,
)
from .signals import employee_changed, employee_deleted, send_on_commit

log = logging.getLogger(__name__)



def team_get_or_create(*, organization: Organization, name: str) -> Team:
    team, _ = Team.objects.get_or_create(organization=organization, name=name.strip())
    return team


# Directory facts (SCIM, the employees API): set on create or update like any other field.
DIRECTORY_FIELDS = ("title", "department", "employee_number", "manager", "manager_name")


def _check_manager(*, organization: Organization, employee: Employee | None, manager: Employee | None) -> None:
    # A manager is one of the same organization's people: an id from another tenant never links two records.
    if manager is None:
        return
    if manager.organization_id != organization.pk:
        raise TeamsError("invalid_manager", "The manager must be an employee of this organization.")
    if employee is not None and manager.pk == employee.pk:
        raise TeamsError("invalid_manager", "An employee can't be their own manager.")


@transaction.atomic  # the employee and its audit event (teams.signals.in_transaction) commit together
def employee_create(*, organization: Organization, name: str, email: str, external_id: str = "",
                    team: Team | None = None, external_ids: dict | None = None, **directory) -> Employee:
    unknown = set(directory) - set(DIRECTORY_FIELDS)
    if unknown:
        raise TypeError(f"employee_create: unknown fields {sorted(unknown)}")
    email = email.strip().lower()
    if Employee.objects.for_organization(organization).filter(email=email).exists():
        raise TeamsError("duplicate_email", f"An employee with the email {email} already exists.", 409)
    if external_id and Employee.objects.for_organization(organization).filter(external_id=external_id).exists():
        raise TeamsError("duplicate_external_id", f"An employee with the external ID {external_id} already exists.",
                         409)
    _check_manager(organization=organization, employee=None, manager=directory.get("manager"))
    employee = Employee.objects.create(organization=organization, name=name.strip(), email=email,
                                       external_id=external_id, team=team, external_ids=external_ids or {},
                                       **directory)
    send_on_commit(employee_changed, employee=employee, created=True, fields=[])
    return employee


EMPLOYEE_FIELDS = ("name", "email", "external_id", "external_ids", "team", "active", *DIRECTORY_FIELDS)


def employee_update(*, employee: Employee, **values) -> Employee:
    """Change an employee's fields (any of EMPLOYEE_FIELDS); deactivating one also ends their access."""
    unknown = set(values) - set(EMPLOYEE_FIELDS)
    if unknown:
        raise TypeError(f"employee_update: unknown fields {sorted(unknown)}")
    scope = Employee.objects.for_organization(employee.organization).exclude(pk=employee.pk)
    if "email" in values:
        values["email"] = values["email"].strip().lower()
        if scope.filter(email=values["email"]).exists():
            raise TeamsError("duplicate_email", f"An employee with the email {values['email']} already exists.", 409)
    if values.get("external_id") and scope.filter(external_id=values["external_id"]).exists():
        raise TeamsError("duplicate_external_id",
                         f"An employee with the external ID {values['external_id']} already exists.", 409)
    if "manager" in values:
        _check_manager(organization=employee.organization, employee=employee, manager=values["manager"])
    changed = [key for key, value in values.items() if getattr(employee, key) != value]
    if not changed:
        return employee
    with transaction.atomic():
        if "active" in changed and not values["active"]:
            _employee_access_end(employee, reason="deactivated")
        for key in changed:
            setattr(employee, key, values[key])
        if "active" in changed:
            employee.deactivated_at = None if employee.active else timezone.now()
        employee.save()
        send_on_commit(employee_changed, employee=employee, created=False, fields=changed)
    return employee


def _employee_access_end(employee: Employee, *, reason: str) -> None:
    """Deactivated or deleted: their pending invites are withdrawn and their membership of this organization ends
    (every request resolves it, so access ends at once). Their account and other organizations are untouched; the
    organization's last owner can't be ended (409)."""
    employee_invites_revoke(employee=employee)
    try:
        membership_end(organization=employee.organization, user_id=employee.user_id, reason=reason)
    except MembershipError as exc:
        raise TeamsError(exc.code, exc.message, exc.status) from None


def employee_delete(*, employee: Employee) -> None:
    """Delete the employee with their selfies and headshots, rows first, files once the rows are gone."""
    files = [s.file.name for s in employee.selfies.all()]
    for headshot in employee.headshots.all():
        files.append(headshot.file.name)
        files.extend(headshot.renditions.values())
    storage = Selfie.file.field.storage
    gone = {"organization_id": employee.organization_id, "employee_id": employee.pk, "email": employee.email,
            "external_id": employee.external_id, "external_ids": dict(employee.external_ids or {})}
    with transaction.atomic():
        _employee_access_end(employee, reason="deleted")
        employee.delete()
        send_on_commit(employee_deleted, **gone)
        transaction.on_commit(lambda: [storage.delete(name) for name in files])


@dataclass
class ImportResult:
    created: list[Employee] = field(default_factory=list)
    updated: list[Employee] = field(default_factory=list)


class CsvImportRefused(TeamsError):
    """At least one row is bad, so no row was stored. `rows`: [{"line", "column", "error"}], every problem
    of every bad row (up to CSV_MAX_REPORTED), so the file can be fixed in one go."""

    def __init__(self, rows: list[dict], total: int):
        lines = len({row["line"] for row in rows})
        more = f" (the first {len(rows)} of {total} problems are listed)" if total > len(rows) else ""
        super().__init__("csv_rows_invalid", f"{lines} line{'s' if lines != 1 else ''} of the CSV file "
                                             f"{'have' if lines != 1 else 'has'} errors, so nothing was imported: "
                                             f"fix them and upload the file again{more}.")
        self.rows = rows
        self.lines = lines


CSV_COLUMNS = ("name", "email", "external_id", "team")
CSV_MAX_BYTES = 5 * 1024 * 1024
CSV_MAX_REPORTED = 1000


def _column_limits() -> dict[str, int]:
    # The columns' sizes in the database: a longer value used to fail the INSERT halfway through a file.
    return {"name": Employee._meta.get_field("name").max_length,
            "email": Employee._meta.get_field("email").max_length,
            "external_id": Employee._meta.get_field("external_id").max_length,
            "team": Team._meta.get_field("name").max_length}


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: stripped value}) for each data row, checking the header first."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in ("name", "email") if c not in header]
        if missing:
            raise TeamsError("csv_header", f"The CSV header must include: {', '.join(missing)} "
                                           f"(columns understood: {', '.join(CSV_COLUMNS)}).")
        if any("\x00" in h for h in header):
            raise TeamsError("csv_header", "The CSV header contains a NUL character (\\u0000).")
        rows = []
        for raw in reader:
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
            rows.append((reader.line_num, row))
        return rows
    except csv.Error as exc:  # e.g. a field past the csv module's 128 KiB limit
        raise TeamsError("csv_malformed", f"The CSV file can't be read at line {reader.line_num + 1}: {exc}.") from None


def _row_problems(row: dict[str, str], limits: dict[str, int]) -> list[tuple[str, str]]:
    """(column, problem) for everything wrong with one row on its own."""
    problems: list[tuple[str, str]] = []
    for column in CSV_COLUMNS:
        value = row.get(column, "")
        if "\x00" in value:
            problems.append((column, f"The {column} contains a NUL character (\\u0000), which is not allowed."))
        elif len(value) > limits[column]:
            problems.append((column, f"The {column} is longer than {limits[column]} characters."))
    if not any(column == "email" for column, _ in problems):
        try:
            validate_email(row.get("email", ""))
        except ValidationError:
            problems.append(("email", f"'{row.get('email', '')}' is not a valid email address."))
    if not row.get("name") and not any(column == "name" for column, _ in problems):
        problems.append(("name", "The name is empty."))
    return problems


def employees_import_csv(*, organization: Organization, data: bytes) -> ImportResult:
    """Upsert employees by email from a CSV with a header row (name,email[,external_id][,team]).

    All or nothing: every row is checked first (lengths, emails, NUL characters, an email or external ID used twice
    or already another person's); one bad row and nothing is stored, and CsvImportRefused lists every problem.
    """
    if len(data) > CSV_MAX_BYTES:
        raise TeamsError("csv_too_large", "The CSV file is larger than 5 MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TeamsError("csv_encoding", "The CSV file must be UTF-8 encoded.") from None
    rows = _csv_rows(text)
    limits = _column_limits()
    staff = Employee.objects.for_organization(organization)
    problems: list[dict] = []
    good: list[tuple[int, dict[str, str]]] = []
    email_lines: dict[str, int] = {}
    external_id_emails: dict[str, str] = {}
    for line, row in rows:
        row["email"] = row.get("email", "").lower()
        found = _row_problems(row, limits)
        email, external_id = row["email"], row.get("external_id", "")
        if not found and email in email_lines:
            found.append(("email", f"{email} appears twice in the file (also on line {email_lines[email]})."))
        if not found and external_id and external_id_emails.setdefault(external_id, email) != email:
            found.append(("external_id", f"The external ID {external_id} is on another row of the file too."))
        problems += [{"line": line, "column": column, "error": error} for column, error in found]
        if not found:
            email_lines[email] = line
            good.append((line, row))
    # An external ID already held by someone else in the organization (one query for the whole file).
    wanted = {row["external_id"]: line for line, row in good if row.get("external_id")}
    for external_id, owner in staff.filter(external_id__in=list(wanted)).values_list("external_id", "email"):
        if external_id_emails.get(external_id) != owner:
            problems.append({"line": wanted[external_id], "column": "external_id",
                             "error": f"The external ID {external_id} belongs to another employee."})
    if problems:
        problems.sort(key=lambda p: p["line"])
        raise CsvImportRefused(problems[:CSV_MAX_REPORTED], len(problems))

    try:
        return _import_rows(organization, [row for _line, row in good], list(email_lines))
    except IntegrityError:  # someone added the same person while this file was being imported
        raise TeamsError("csv_conflict", "Employees changed while the file was imported, so nothing was imported: "
                                         "upload it again.", 409) from None


@transaction.atomic
def _import_rows(organization: Organization, rows: list[dict[str, str]], emails: list[str]) -> ImportResult:
    """Store checked rows: create the new people, update the ones found by email."""
    result = ImportResult()
    existing = {e.email: e for e in Employee.objects.for_organization(organization).select_related("team")
                .filter(email__in=emails)}
    teams: dict[str, Team] = {}
    for row in rows:
        team = None
        if row.get("team"):
            team = teams.get(row["team"]) or team_get_or_create(organization=organization, name=row["team"])
            teams[row["team"]] = team
        external_id = row.get("external_id", "")
        employee = existing.get(row["email"])
        if employee is None:
            employee = Employee.objects.create(organization=organization, name=row["name"], email=row["email"],
                                               external_id=external_id, team=team)
            result.created.append(employee)
            send_on_commit(employee_changed, employee=employee, created=True, fields=[])
        else:
            employee_update(employee=employee, name=row["name"],
                            external_id=external_id or employee.external_id, team=team or employee.team)
            result.updated.append(employee)
    return result


