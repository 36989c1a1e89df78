"""Selfie uploads: each photo checked on its own and against the stored set; the set re-judged when it changes."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from inference.identity import MODEL_NAME

from .errors import consent_required
from .models import (
    Employee,
    IdentityProfile,
    Selfie,
    SelfieEmbedding,
)
from .selfie_checks import inspect_selfie, judge, reason_message, set_item

log = logging.getLogger(__name__)



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


def selfies_upload(*, employee: Employee, uploads: list) -> UploadResult:
    """Check each photo on its own, then against the stored set; store the good ones untouched.

    One bad photo never affects the others. A colleague's photo or a re-upload is refused and not kept; a photo
    whose identity can't be settled yet (e.g. the second of two photos that disagree) is kept outside the set, so
    later photos can outvote whichever of the two is not the employee.
    """
    consent_required(employee)  # nothing biometric is computed or stored before consent
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


