"""Team writes: employees, CSV import, selfie uploads, generation requests and headshot choices."""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from brand_kits.models import BrandKit
from tenancy.models import Organization

from .models import STATUS_TRANSITIONS, Employee, GenerationRequest, Headshot, RequestStatus, Selfie, Team
from .selfie_checks import inspect_selfie

log = logging.getLogger(__name__)


class TeamsError(Exception):
    """A domain rule was broken; `code` is stable for clients, `message` is for people."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# Employees -------------------------------------------------------------------------------------------------


def team_get_or_create(*, organization: Organization, name: str) -> Team:
    team, _ = Team.objects.get_or_create(organization=organization, name=name.strip())
    return team


def employee_create(*, organization: Organization, name: str, email: str, external_id: str = "",
                    team: Team | None = None, external_ids: dict | None = None) -> Employee:
    email = email.strip().lower()
    if Employee.objects.for_organization(organization).filter(email=email).exists():
        raise TeamsError("duplicate_email", f"An employee with the email {email} already exists.", 409)
    if external_id and Employee.objects.for_organization(organization).filter(external_id=external_id).exists():
        raise TeamsError("duplicate_external_id", f"An employee with the external ID {external_id} already exists.", 409)
    return Employee.objects.create(organization=organization, name=name.strip(), email=email, external_id=external_id,
                                   team=team, external_ids=external_ids or {})


def employee_delete(*, employee: Employee) -> None:
    """Delete the employee with their selfies and headshots, rows first, files once the rows are gone."""
    files = [s.file.name for s in employee.selfies.all()]
    for headshot in employee.headshots.all():
        files.append(headshot.file.name)
        files.extend(headshot.renditions.values())
    storage = Selfie.file.field.storage
    with transaction.atomic():
        employee.delete()
        transaction.on_commit(lambda: [storage.delete(name) for name in files])


@dataclass
class ImportResult:
    created: list[Employee] = field(default_factory=list)
    updated: list[Employee] = field(default_factory=list)
    # [{"line": n, "error": "..."}]: every bad row is reported; good rows are still imported.
    errors: list[dict] = field(default_factory=list)


CSV_COLUMNS = ("name", "email", "external_id", "team")
CSV_MAX_BYTES = 5 * 1024 * 1024


def employees_import_csv(*, organization: Organization, data: bytes) -> ImportResult:
    """Upsert employees by email from a CSV with a header row (name,email[,external_id][,team])."""
    if len(data) > CSV_MAX_BYTES:
        raise TeamsError("csv_too_large", "The CSV file is larger than 5 MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TeamsError("csv_encoding", "The CSV file must be UTF-8 encoded.") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("name", "email") if c not in header]
    if missing:
        raise TeamsError("csv_header", f"The CSV header must include: {', '.join(missing)} "
                                       f"(columns understood: {', '.join(CSV_COLUMNS)}).")
    result = ImportResult()
    seen: set[str] = set()
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        email = row.get("email", "").lower()
        try:
            validate_email(email)
        except ValidationError:
            result.errors.append({"line": line, "error": f"'{email}' is not a valid email address."})
            continue
        if not row.get("name"):
            result.errors.append({"line": line, "error": "The name is empty."})
            continue
        if email in seen:
            result.errors.append({"line": line, "error": f"{email} appears twice in the file."})
            continue
        seen.add(email)
        team = team_get_or_create(organization=organization, name=row["team"]) if row.get("team") else None
        external_id = row.get("external_id", "")
        clash = (Employee.objects.for_organization(organization).filter(external_id=external_id)
                 .exclude(email=email).exists() if external_id else False)
        if clash:
            result.errors.append({"line": line, "error": f"The external ID {external_id} belongs to another employee."})
            continue
        with transaction.atomic():
            employee = Employee.objects.for_organization(organization).filter(email=email).first()
            if employee is None:
                result.created.append(Employee.objects.create(
                    organization=organization, name=row["name"], email=email, external_id=external_id, team=team))
            else:
                employee.name = row["name"]
                employee.external_id = external_id or employee.external_id
                employee.team = team or employee.team
                employee.save()
                result.updated.append(employee)
    return result


# Selfies ---------------------------------------------------------------------------------------------------

ALLOWED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp"}


@dataclass
class UploadResult:
    accepted: list[Selfie] = field(default_factory=list)
    # [{"file", "reasons": [...], "messages": [...]}]
    rejected: list[dict] = field(default_factory=list)


def _read_capped(upload, limit: int) -> bytes | None:
    """Read at most limit bytes; None when the upload is larger (the rest is never read into memory)."""
    if getattr(upload, "size", 0) > limit:
        return None
    data = upload.read(limit + 1)
    return None if len(data) > limit else data


def selfies_upload(*, employee: Employee, uploads: list) -> UploadResult:
    """Check each photo on its own; store the accepted ones untouched. One bad photo never affects the others."""
    result = UploadResult()
    existing = Selfie.objects.for_organization(employee.organization).filter(employee=employee)
    limit = employee.organization.selfies_max
    room = limit - existing.count()
    for upload in uploads:
        name = PurePath(getattr(upload, "name", "") or "selfie").name[:255]

        def reject(code: str, message: str) -> None:
            result.rejected.append({"file": name, "reasons": [code], "messages": [message]})

        if room <= 0:
            reject("too_many_selfies", f"You can keep at most {limit} selfies. "
                                       "Delete one before adding another.")
            continue
        data = _read_capped(upload, settings.SELFIE_MAX_BYTES)
        if data is None:
            reject("too_large", f"The file is larger than {settings.SELFIE_MAX_BYTES // (1024 * 1024)} MB.")
            continue
        checksum = hashlib.sha256(data).hexdigest()
        if existing.filter(checksum=checksum).exists() or any(s.checksum == checksum for s in result.accepted):
            reject("duplicate", "You already uploaded this exact photo.")
            continue
        verdict = inspect_selfie(name, data)
        if not verdict.accepted:
            result.rejected.append({"file": name, "reasons": list(verdict.reasons), "messages": list(verdict.messages)})
            continue
        selfie = _store_selfie(employee=employee, name=name, data=data, checksum=checksum,
                               width=verdict.width, height=verdict.height)
        if selfie is None:
            reject("duplicate", "You already uploaded this exact photo.")
            continue
        result.accepted.append(selfie)
        room -= 1
    return result


def _store_selfie(*, employee: Employee, name: str, data: bytes, checksum: str, width, height) -> Selfie | None:
    extension = PurePath(name).suffix.lower()
    selfie = Selfie(organization=employee.organization, employee=employee, original_name=name,
                    extension=extension if extension in ALLOWED_EXTENSIONS else "", checksum=checksum,
                    size_bytes=len(data), width=width, height=height)
    from django.core.files.base import ContentFile

    selfie.file.save(name, ContentFile(data), save=False)
    try:
        with transaction.atomic():
            selfie.save()
    except IntegrityError:
        # A concurrent upload stored the same photo first; drop our copy of the file, keep theirs.
        selfie.file.storage.delete(selfie.file.name)
        return None
    except Exception:
        selfie.file.storage.delete(selfie.file.name)
        raise
    return selfie


def selfie_delete(*, selfie: Selfie) -> None:
    storage, name = selfie.file.storage, selfie.file.name
    selfie.delete()
    transaction.on_commit(lambda: storage.delete(name))


# Generation requests -----------------------------------------------------------------------------------------


def request_transition(request: GenerationRequest, to: str, **fields) -> GenerationRequest:
    """Move a request along the status machine; any other move is a programming error."""
    if to != request.status and to not in STATUS_TRANSITIONS[request.status]:
        raise TeamsError("invalid_transition", f"A {request.status} request can't become {to}.", 409)
    now = timezone.now()
    request.status = to
    stamps = {RequestStatus.QUEUED: "queued_at", RequestStatus.RUNNING: "started_at",
              RequestStatus.DONE: "finished_at", RequestStatus.FAILED: "finished_at"}
    if to in stamps:
        fields.setdefault(stamps[to], now)
    for key, value in fields.items():
        setattr(request, key, value)
    request.save(update_fields=["status", *fields.keys()])
    return request


def default_brand_kit(organization: Organization) -> BrandKit | None:
    return BrandKit.objects.for_organization(organization).filter(archived_at__isnull=True).order_by("-id").first()


def generation_request_start(*, employee: Employee, created_by: User | None,
                             brand_kit: BrandKit | None = None) -> GenerationRequest:
    """Freeze the selfie set and brand kit version, then enqueue the job once the transaction commits."""
    organization = employee.organization
    kit = brand_kit or default_brand_kit(organization)
    if kit is None:
        raise TeamsError("no_brand_kit", "Your organization has no brand kit yet. Ask your HR team to create one.", 409)
    if kit.archived_at is not None:
        raise TeamsError("brand_kit_archived", "This brand kit is archived.", 409)
    selfies = list(Selfie.objects.for_organization(organization).filter(employee=employee))
    if len(selfies) < organization.selfies_required:
        raise TeamsError("not_enough_selfies", f"Upload at least {organization.selfies_required} accepted "
                                               f"selfie(s) first; you have {len(selfies)}.", 409)
    active = GenerationRequest.objects.for_organization(organization).filter(
        employee=employee, status__in=[RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING])
    if active.exists():
        raise TeamsError("request_in_progress", "A generation is already in progress for this employee.", 409)
    version = kit.current_version
    with transaction.atomic():
        request = GenerationRequest.objects.create(
            organization=organization, employee=employee, brand_kit_version=version, created_by=created_by,
            seed=secrets.randbelow(2**31), progress_total=len(selfies) * len(version.spec.get("variants", [1])))
        request.selfies.set(selfies)
        request_transition(request, RequestStatus.QUEUED)
        request_enqueue(request)
    return request


def request_enqueue(request: GenerationRequest) -> None:
    from .jobs import generate_headshots

    request_id = request.pk
    transaction.on_commit(lambda: generate_headshots.send(request_id))


# Headshots ---------------------------------------------------------------------------------------------------


def headshot_set_selected(*, headshot: Headshot, selected: bool) -> Headshot:
    headshot.selected = selected
    headshot.save(update_fields=["selected"])
    return headshot


def headshot_approve(*, headshot: Headshot, approved: bool = True) -> Headshot:
    headshot.approved = approved
    headshot.approved_at = timezone.now() if approved else None
    headshot.save(update_fields=["approved", "approved_at"])
    return headshot
