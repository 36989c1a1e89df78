"""Team writes: employees, CSV import, selfie uploads, generation requests and headshot choices."""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from brand_kits.models import BrandKit
from brand_kits.services import brand_spec_for
from consent.services import ConsentError, require_consent
from inference.identity import MODEL_NAME
from inference.ranking import learn_from_selection
from tenancy.models import Organization
from tenancy.services import MembershipError, membership_end

from .errors import TeamsError
from .invites import employee_invites_revoke
from .jobs import generate_headshots
from .models import (
    Employee,
    GenerationRequest,
    Headshot,
    IdentityProfile,
    RequestStatus,
    Selfie,
    SelfieEmbedding,
    Team,
)
from .selfie_checks import inspect_selfie, judge, reason_message, set_item
from .signals import employee_changed, employee_deleted, headshot_approved, send_on_commit
from .transitions import request_transition

log = logging.getLogger(__name__)


# Employees -------------------------------------------------------------------------------------------------


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


# Selfies ---------------------------------------------------------------------------------------------------

ALLOWED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp"}


@dataclass
class UploadResult:
    accepted: list[Selfie] = field(default_factory=list)
    # [{"file", "reasons": [...], "messages": [...]}]
    rejected: list[dict] = field(default_factory=list)


def selfie_upload_limits() -> str:
    """What an upload may hold, as the API schema states it."""
    return (f"Photos ({', '.join(sorted(ext.lstrip('.').upper() for ext in ALLOWED_EXTENSIONS))}), each at most "
            f"{settings.SELFIE_MAX_BYTES // 2**20} MB; the set holds at most the organization's maximum.")


def _read_capped(upload, limit: int) -> bytes | None:
    """Read at most limit bytes; None when the upload is larger (the rest is never read into memory)."""
    if getattr(upload, "size", 0) > limit:
        return None
    data = upload.read(limit + 1)
    return None if len(data) > limit else data


def _require_consent(employee: Employee) -> None:
    """consent.services.require_consent, refused as a TeamsError like every other rule of these services (same code,
    message and status), so their callers catch one error type."""
    try:
        require_consent(employee)
    except ConsentError as exc:
        raise TeamsError(exc.code, exc.message, exc.status) from None


def selfies_upload(*, employee: Employee, uploads: list) -> UploadResult:
    """Check each photo on its own, then against the stored set; store the good ones untouched.

    One bad photo never affects the others. A colleague's photo or a re-upload is refused and not kept; a photo
    whose identity can't be settled yet (e.g. the second of two photos that disagree) is kept outside the set, so
    later photos can outvote whichever of the two is not the employee.
    """
    _require_consent(employee)  # nothing biometric is computed or stored before consent
    result = UploadResult()
    limit = employee.organization.selfies_max
    for upload in uploads:
        name = PurePath(getattr(upload, "name", "") or "selfie").name[:255]

        # Called only within this iteration, so `name` is this upload's.
        def reject(codes: list[str], messages: list[str] | None = None) -> None:
            result.rejected.append({"file": name, "reasons": codes,  # noqa: B023
                                    "messages": messages or [reason_message(code) for code in codes]})

        stored = Selfie.objects.for_organization(employee.organization).filter(employee=employee)
        if stored.count() >= limit:
            reject(["too_many_selfies"], [f"You can keep at most {limit} selfies. Delete one before adding another."])
            continue
        data = _read_capped(upload, settings.SELFIE_MAX_BYTES)
        if data is None:
            reject(["too_large"], [f"The file is larger than {settings.SELFIE_MAX_BYTES // (1024 * 1024)} MB."])
            continue
        checksum = hashlib.sha256(data).hexdigest()
        if stored.filter(checksum=checksum).exists():
            reject(["duplicate"], ["You already uploaded this exact photo."])
            continue
        verdict = inspect_selfie(name, data)
        if not verdict.accepted:
            reject(list(verdict.reasons), list(verdict.messages))
            continue
        selfie = _store_selfie(employee=employee, name=name, data=data, checksum=checksum, verdict=verdict)
        if selfie is None:
            reject(["duplicate"], ["You already uploaded this exact photo."])
            continue
        reasons = selfie_set_rejudge(employee=employee).get(selfie.pk, ())
        if "different_person" in reasons or "duplicate" in reasons:
            selfie_delete(selfie=selfie)
            reject(list(reasons))
            continue
        result.accepted.append(selfie)
    for selfie in result.accepted:
        selfie.refresh_from_db()
    return result


def _store_selfie(*, employee: Employee, name: str, data: bytes, checksum: str, verdict) -> Selfie | None:
    extension = PurePath(name).suffix.lower()
    selfie = Selfie(organization=employee.organization, employee=employee, original_name=name,
                    extension=extension if extension in ALLOWED_EXTENSIONS else "", checksum=checksum,
                    size_bytes=len(data), width=verdict.width, height=verdict.height, qc=dict(verdict.metrics))
    selfie.file.save(name, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            selfie.save()
            SelfieEmbedding.objects.create(organization=employee.organization, employee=employee, selfie=selfie,
                                           model=MODEL_NAME, vector=list(verdict.embedding))
    except IntegrityError:
        # A concurrent upload stored the same photo first; drop our copy of the file, keep theirs.
        selfie.file.storage.delete(selfie.file.name)
        return None
    except Exception:
        selfie.file.storage.delete(selfie.file.name)
        raise
    return selfie


@transaction.atomic
def selfie_set_rejudge(*, employee: Employee) -> dict[int, tuple[str, ...]]:
    """Re-run the set-level checks on every stored selfie (from stored numbers) and refresh the identity profile."""
    Employee.objects.select_for_update().filter(pk=employee.pk).first()  # one re-judgement per employee at a time
    selfies = list(Selfie.objects.for_organization(employee.organization).filter(employee=employee)
                   .select_related("embedding").order_by("id"))
    items = [set_item(str(s.pk), s.embedding.vector, s.qc) for s in selfies if _has_embedding(s)]
    reasons, profile = judge(items)
    for selfie in selfies:
        codes = reasons.get(str(selfie.pk), ("not_checked",))
        in_set = not codes
        if selfie.in_set != in_set or selfie.set_reasons != list(codes):
            selfie.in_set, selfie.set_reasons = in_set, list(codes)
            selfie.save(update_fields=["in_set", "set_reasons"])
    if profile is None:
        IdentityProfile.objects.filter(employee=employee).delete()
    else:
        IdentityProfile.objects.update_or_create(
            employee=employee, defaults={"organization": employee.organization, "model": profile.model,
                                         "profile": profile.as_dict()})
    return {int(name): codes for name, codes in reasons.items()}


def _has_embedding(selfie: Selfie) -> bool:
    try:
        return selfie.embedding is not None and "phash" in selfie.qc and "sharpness" in selfie.qc
    except SelfieEmbedding.DoesNotExist:
        return False


def selfie_set_summary(employee: Employee) -> dict:
    in_set = Selfie.objects.for_organization(employee.organization).filter(employee=employee, in_set=True).count()
    required = employee.organization.selfies_required
    return {"in_set": in_set, "required": required, "max": employee.organization.selfies_max,
            "ready": in_set >= required}


def selfie_delete(*, selfie: Selfie) -> None:
    storage, name, employee = selfie.file.storage, selfie.file.name, selfie.employee
    with transaction.atomic():
        selfie.delete()
        selfie_set_rejudge(employee=employee)
        transaction.on_commit(lambda: storage.delete(name))


# Generation requests -----------------------------------------------------------------------------------------


def default_brand_kit(organization: Organization) -> BrandKit | None:
    return BrandKit.objects.for_organization(organization).filter(archived_at__isnull=True).order_by("-id").first()


def generation_request_start(*, employee: Employee, created_by: User | None,
                             brand_kit: BrandKit | None = None) -> GenerationRequest:
    """Freeze the selfie set and brand kit version, then enqueue the job once the transaction commits."""
    _require_consent(employee)
    organization = employee.organization
    kit = brand_kit or default_brand_kit(organization)
    if kit is None:
        raise TeamsError("no_brand_kit", "Your organization has no brand kit yet. Ask your HR team to create one.", 409)
    if kit.archived_at is not None:
        raise TeamsError("brand_kit_archived", "This brand kit is archived.", 409)
    selfies = list(Selfie.objects.for_organization(organization).filter(employee=employee, in_set=True))
    if len(selfies) < organization.selfies_required:
        raise TeamsError("not_enough_selfies", f"Upload at least {organization.selfies_required} accepted "
                                               f"selfie(s) first; you have {len(selfies)}.", 409)
    active = GenerationRequest.objects.for_organization(organization).filter(
        employee=employee, status__in=[RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING])
    if active.exists():
        raise TeamsError("request_in_progress", "A generation is already in progress for this employee.", 409)
    version = kit.current_version
    backend = brand_spec_for(version).backend
    if backend in ("diffusion", "klein") and not settings.MODEL_STORE:
        raise TeamsError("backend_unavailable", f"This brand kit uses the {backend} backend, which this deployment "
                                                "doesn't run (no MODEL_STORE). Ask your HR team to switch the kit to "
                                                "the studio backend.", 409)
    with transaction.atomic():
        request = GenerationRequest.objects.create(
            organization=organization, employee=employee, brand_kit_version=version, created_by=created_by,
            seed=secrets.randbelow(2**31), progress_total=brand_spec_for(version).variants_per_person)
        request.selfies.set(selfies)
        request_transition(request, RequestStatus.QUEUED)
        request_enqueue(request)
    return request


def request_enqueue(request: GenerationRequest) -> None:
    """Send the request's job once the transaction commits. If the broker can't take it, the request stays queued
    in PostgreSQL and requests_resend_stale() sends it again: a hand-off is never lost, and never a 500."""
    request_id = request.pk

    def send() -> None:
        try:
            generate_headshots.send(request_id)
        except Exception:  # redis.ConnectionError and friends: the broker is down or restarting
            log.warning("could not queue generation request %s; it will be sent again", request_id, exc_info=True)

    transaction.on_commit(send)


def requests_resend_stale() -> int:
    """Send again every request queued longer than GENERATION_REQUEUE_AFTER_SECONDS (its message was lost).

    Requests held by a paused rollout are left alone: resuming the rollout sends them."""
    cutoff = timezone.now() - timedelta(seconds=settings.GENERATION_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        stale = list(GenerationRequest.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(status=RequestStatus.QUEUED, queued_at__lt=cutoff)
                     .exclude(rollout_item__held=True))
        for request in stale:
            GenerationRequest.objects.filter(pk=request.pk).update(queued_at=timezone.now())
            request_enqueue(request)
    if stale:
        log.warning("sent %d stale queued generation request(s) again", len(stale))
    return len(stale)


def generation_request_retry(*, request: GenerationRequest) -> GenerationRequest:
    """Send a failed request through the queue again (after the disk was freed, Ray came back, ...).

    Headshots it already stored are kept: the job finds them by idempotency key and only makes what is missing."""
    with transaction.atomic():
        request = GenerationRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RequestStatus.FAILED:
            raise TeamsError("not_failed", f"Only a failed request can be retried; this one is {request.status}.", 409)
        request_transition(request, RequestStatus.QUEUED, error="")
        request_enqueue(request)
    return request


# Headshots ---------------------------------------------------------------------------------------------------


@transaction.atomic
def headshot_set_selected(*, headshot: Headshot, selected: bool) -> Headshot:
    """Mark a favourite; a new pick also teaches the brand kit's ranking what this company's people choose."""
    was_selected = headshot.selected
    headshot.selected = selected
    headshot.save(update_fields=["selected"])
    if selected and not was_selected:
        kit = BrandKit.objects.select_for_update().get(pk=headshot.brand_kit_version.kit_id)
        shown = list(Headshot.objects.filter(request_id=headshot.request_id).order_by("id"))
        entries = [{"params": h.variant_params, "qc": h.qc, "variant": h.variant, "passed": h.qc_passed}
                   for h in shown]
        kit.ranking_state = learn_from_selection(kit.ranking_state or None, entries,
                                                 [i for i, h in enumerate(shown) if h.pk == headshot.pk])
        kit.save(update_fields=["ranking_state"])
    return headshot


def headshot_approve(*, headshot: Headshot, approved: bool = True, actor: User | None = None) -> Headshot:
    was_approved = headshot.approved
    with transaction.atomic():
        headshot.approved = approved
        headshot.approved_at = timezone.now() if approved else None
        headshot.save(update_fields=["approved", "approved_at"])
        if approved and not was_approved:
            send_on_commit(headshot_approved, headshot=headshot, actor=actor)
    return headshot
