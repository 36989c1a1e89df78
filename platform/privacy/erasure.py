"""Erasure of a person (GDPR art. 17 / BIPA): every row and file about them goes, and a signed receipt says so.

What goes: the employee with their selfies, embeddings, identity profile, generation requests, headshots (master
and renditions), consents, invites, sign-in codes, Slack link, photo pushes and SCIM record; export ZIPs that list
them; webhook messages that mention them; their sessions and API tokens; their user account when they belong to
no other organization (else only this organization's membership). Photos pushed to directories are removed where
the destination allows it. Rows go in one transaction; files once it has committed (retried, and reported on the
receipt while any is still waiting).
"""
from __future__ import annotations

import csv
import io
import logging
import time
import zipfile
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import Invite, User
from audit.services import record_in_transaction
from config.errors import ServiceError
from connectors.models import Connection, DeletionStatus, PhotoDeletion, PhotoSync, SlackConnection, SyncStatus
from connectors.services import photo_delete_everywhere, slack_photo_deletion_keep
from consent.models import Consent
from integrations.models import ExportJob
from scim.models import ScimUser
from sso.models import LoginCode
from teams.models import Employee, GenerationRequest, Headshot, IdentityProfile, Selfie, SelfieEmbedding
from teams.signals import employee_deleted, send_on_commit
from tenancy.models import Membership, Role
from webhooks.models import WebhookDelivery, WebhookMessage

from .receipts import ErasureReceipt, new_salt, receipt_sign, subject_hash

log = logging.getLogger(__name__)

EXPORT_ERASED = "erased"
ERASED = "[erased]"


class ErasureError(ServiceError):
    """An erasure can't go ahead (e.g. the organization's last owner)."""


@dataclass(frozen=True)
class Subject:
    """What we knew about the person, held in memory only while erasing (to find and scrub their traces)."""
    organization_id: int
    employee_id: int
    user_id: int | None
    email: str
    name: str
    external_id: str
    external_ids: dict
    employee_number: str = ""

    def snapshot(self) -> dict:
        # The shape connectors.services.photo_delete_everywhere reads.
        return {"employee_id": self.employee_id, "email": self.email, "external_id": self.external_id,
                "external_ids": dict(self.external_ids)}

    def scrub(self, text: str) -> str:
        """The text with the person's identifiers replaced (error messages from directories may quote them)."""
        for value in sorted({self.email, self.name, self.external_id, self.employee_number,
                             *map(str, self.external_ids.values())}, key=len, reverse=True):
            if value and len(value) >= 3:
                text = _replace_folded(text, value, ERASED)
        return text


def _replace_folded(text: str, value: str, replacement: str) -> str:
    lowered, needle, out, start = text.lower(), value.lower(), [], 0
    while (found := lowered.find(needle, start)) >= 0:
        out.append(text[start:found] + replacement)
        start = found + len(needle)
    return "".join(out) + text[start:]


def erasure_preview(employee) -> dict[str, int]:
    """What erase_person would delete for this employee, counted the same way (for the admin's confirmation)."""
    mine = {"organization": employee.organization, "employee": employee}
    headshots = list(Headshot.objects.filter(**mine).only("renditions"))
    invites = Invite.objects.for_organization(employee.organization).filter(Q(employee=employee) |
                                                                            Q(email__iexact=employee.email))
    counts = _row_counts(mine, selfies=Selfie.objects.filter(**mine).count(), headshots=headshots, invites=invites)
    counts["account"] = int(employee.user_id is not None)
    return counts


def _row_counts(mine: dict, *, selfies: int, headshots: list, invites) -> dict[str, int]:
    """The person's rows, counted the same way for the preview and for erase_person's record of what it deleted."""
    return {
        "selfies": selfies,
        "embeddings": SelfieEmbedding.objects.filter(**mine).count(),
        "identity_profiles": IdentityProfile.objects.filter(**mine).count(),
        "generation_requests": GenerationRequest.objects.filter(**mine).count(),
        "headshots": len(headshots),
        "renditions": sum(len(h.renditions or {}) for h in headshots),
        "consents": Consent.objects.filter(**mine).count(),
        "invites": invites.count(),
        "slack_connections": SlackConnection.objects.filter(**mine).count(),
        "photo_syncs": PhotoSync.objects.filter(**mine).count(),
    }


def erase_person(*, employee, requested_by, ip: str | None = None) -> ErasureReceipt:
    """Erase the employee and everything about them in their organization; returns the signed receipt.

    requested_by: the admin who asked, or the person's own user (a self-service erasure). `ip` is accepted for
    the audit trail of the request only; the receipt never stores an address.
    """
    organization = employee.organization
    subject = Subject(organization.pk, employee.pk, employee.user_id, employee.email, employee.name,
                      employee.external_id, dict(employee.external_ids or {}), employee.employee_number)
    if subject.user_id:
        owners = Membership.objects.filter(organization=organization, role=Role.OWNER)
        if owners.filter(user_id=subject.user_id).exists() and owners.count() == 1:
            raise ErasureError("last_owner", _("This person is the organization's only owner. Make someone else an "
                                               "owner first, then erase them."), 409)

    # Remote work first, outside the transaction: network calls must not hold row locks.
    destinations = _remote_photos_delete(organization, subject)
    exports = _exports_listing(organization, subject)

    requested_self = requested_by is not None and requested_by.pk == subject.user_id
    with transaction.atomic():
        locked = Employee.objects.select_for_update().filter(pk=employee.pk, organization=organization).first()
        if locked is None:
            raise ErasureError("not_found", _("This person was already erased."), 404)
        counts, files = _rows_delete(organization, locked, subject, exports)
        receipt = ErasureReceipt(
            organization=organization, employee_ref=subject.employee_id,
            erased_at=timezone.now().replace(microsecond=0),
            subject_salt=(salt := new_salt()), subject_sha256=subject_hash(subject.email, salt),
            requested_by_ref=None if requested_self or requested_by is None else requested_by.pk,
            requested_by_subject=requested_self, counts=counts, destinations=destinations,
            files={"deleted": 0, "pending": len(files)}, pending_files=files)
        receipt_sign(receipt)
        receipt.save()
        _audit_and_after_commit(organization, subject, receipt)
    log.info("erasure: employee %s of organization %s erased (receipt %s)", subject.employee_id, organization.pk,
             receipt.receipt_id)
    receipt.refresh_from_db()
    return receipt


# Remote photos --------------------------------------------------------------------------------------------------


def _remote_photos_delete(organization, subject: Subject) -> list[dict]:
    """Remove the person's pushed photo from each directory that allows it; one outcome per destination."""
    outcomes: dict[str, dict] = {}
    employee = Employee.objects.filter(pk=subject.employee_id).first()
    slack_row = slack_photo_deletion_keep(employee) if employee is not None else None
    if slack_row is not None or Connection.objects.for_organization(organization).filter(enabled=True).exists():
        try:
            rows = photo_delete_everywhere(organization, subject.snapshot())
        except Exception as exc:  # a connector bug must not stop the erasure; it is reported on the receipt
            log.exception("erasure: removing pushed photos of employee %s failed", subject.employee_id)
            rows = []
            for connection in Connection.objects.for_organization(organization).filter(enabled=True):
                outcomes[connection.kind] = {"destination": connection.kind, "outcome": "failed",
                                             "reason": subject.scrub(f"{exc.__class__.__name__}: {exc}")}
        label = {DeletionStatus.DONE: "deleted", DeletionStatus.UNSUPPORTED: "not_supported",
                 DeletionStatus.FAILED: "failed", DeletionStatus.PENDING: "failed"}
        for row in rows:
            reason = subject.scrub(row.last_error or "")
            outcomes[row.destination] = {"destination": row.destination, "outcome": label[row.status],
                                         "reason": reason}
        # The rows are the connectors' evidence: they keep the outcome but no identifier of the person. Without the
        # identifier nothing can retry a failed removal, so those are closed as needing a person (the connectors'
        # own deletion job, which employee_deleted also starts, then skips them instead of calling with no user).
        destinations = [(c.kind, c) for c in Connection.objects.for_organization(organization).filter(enabled=True)]
        destinations += [("slack", None)] if slack_row is not None else []
        for destination, connection in destinations:
            row, _created = PhotoDeletion.objects.get_or_create(
                organization=organization, employee_ref=subject.employee_id, destination=destination,
                defaults={"connection": connection})
            outcome = outcomes.get(row.destination) or {"destination": row.destination, "outcome": "failed",
                                                        "reason": "The removal did not run."}
            outcomes[row.destination] = outcome
            if row.status == DeletionStatus.DONE:
                PhotoDeletion.objects.filter(pk=row.pk).update(remote_user="", last_error="")
                continue
            note = outcome["reason"]
            if outcome["outcome"] == "failed":
                note = (f"Removing the photo failed ({note}); the person was erased, so it can't be retried "
                        f"automatically: remove it there by hand.")
            PhotoDeletion.objects.filter(pk=row.pk).update(status=DeletionStatus.UNSUPPORTED, remote_user="",
                                                           credential="", last_error=note,
                                                           finished_at=timezone.now())
    pushed = PhotoSync.objects.for_organization(organization).filter(employee_id=subject.employee_id,
                                                                     status=SyncStatus.SYNCED)
    for destination in pushed.values_list("destination", flat=True).distinct():
        if destination not in outcomes and destination != "slack":
            outcomes[destination] = {"destination": destination, "outcome": "failed", "reason": (
                "The connection to this directory is disabled or removed, so the photo could not be deleted there; "
                "remove it by hand.")}
    return [outcomes[key] for key in sorted(outcomes)]


# Export ZIPs ------------------------------------------------------------------------------------------------------


def export_lists_person(storage, name: str, subject: Subject) -> bool:
    """Whether the export ZIP's manifest.csv has a row for the person. An unreadable ZIP counts as listing them:
    we can't prove it doesn't, and an export can always be made again."""
    try:
        with storage.open(name, "rb") as handle, zipfile.ZipFile(handle) as archive:
            with archive.open("manifest.csv") as manifest:
                reader = csv.DictReader(io.TextIOWrapper(manifest, encoding="utf-8", newline=""))
                for row in reader:
                    emails = {(row.get(column) or "").strip().lower() for column in ("email", "manager_email")}
                    if row.get("employee_id") == str(subject.employee_id) or (
                            subject.email and subject.email.strip().lower() in emails):
                        return True  # their own row, or a row naming them as someone's manager
        return False
    except FileNotFoundError:
        return False
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, csv.Error):
        log.warning("erasure: export %s can't be read; deleting it to be safe", name, exc_info=True)
        return True


def _exports_listing(organization, subject: Subject) -> list[int]:
    found = []
    for job in ExportJob.objects.for_organization(organization).exclude(file="").only("id", "file"):
        if export_lists_person(job.file.storage, job.file.name, subject):
            found.append(job.pk)
    return found


# Rows ----------------------------------------------------------------------------------------------------------


def _user_foreign_keys():
    """(model, field name) for every nullable foreign key to the user model on a tenant-owned table."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for model in apps.get_models():
        if not any(f.name == "organization" for f in model._meta.concrete_fields):
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.related_model is user_model and field.null:
                yield model, field.name


def _rows_delete(organization, employee, subject: Subject, export_ids: list[int]) -> tuple[dict, list[str]]:
    """Delete every row about the person (inside the caller's transaction); returns counts and files to delete."""
    mine = {"organization": organization, "employee": employee}
    selfies = list(Selfie.objects.filter(**mine))
    headshots = list(Headshot.objects.filter(**mine))
    files = [s.file.name for s in selfies if s.file.name]
    for headshot in headshots:
        if headshot.file.name:
            files.append(headshot.file.name)
        files.extend(name for name in (headshot.renditions or {}).values() if isinstance(name, str) and name)

    invites = Invite.objects.for_organization(organization).filter(Q(employee=employee) |
                                                                   Q(email__iexact=subject.email))
    counts = _row_counts(mine, selfies=len(selfies), headshots=headshots, invites=invites)
    counts["scim_users"] = ScimUser.objects.filter(**mine).count()
    counts["login_codes"] = LoginCode.objects.filter(Q(email__iexact=subject.email) | Q(invite__in=invites)).delete()[0]
    invites.delete()

    # Webhook events that name the person (by id in `employee`, or by email / HRIS id anywhere in the payload).
    mentions = Q(payload__employee__id=subject.employee_id)
    text_messages = WebhookMessage.objects.for_organization(organization).annotate(text=Cast("payload", TextField()))
    mentions |= Q(text__icontains=subject.email)
    if subject.external_id:
        mentions |= Q(text__contains=f'"{subject.external_id}"')
    messages = text_messages.filter(mentions)
    counts["webhook_deliveries"] = WebhookDelivery.objects.filter(message__in=messages.values("pk")).count()
    counts["webhook_messages"] = WebhookMessage.objects.filter(pk__in=messages.values("pk")).delete()[1].get(
        WebhookMessage._meta.label, 0)

    jobs = ExportJob.objects.for_organization(organization).filter(pk__in=export_ids)
    files.extend(job.file.name for job in jobs if job.file.name)
    counts["export_zips"] = jobs.update(status=EXPORT_ERASED, file="", size_bytes=None, error=_(
        "This export listed a person who has since been erased, so its file was deleted. Start a new export."))

    # Their reports keep no trace of them: the manager link goes with the row (SET_NULL), the name given here too.
    Employee.objects.filter(organization=organization, manager=employee).update(manager_name="")
    Employee.objects.filter(pk=employee.pk).delete()
    counts["employees"] = 1

    counts.update(sessions=0, api_tokens=0, memberships=0, user_accounts=0)
    if subject.user_id:
        user = User.objects.filter(pk=subject.user_id).first()
        if user is not None:
            counts["api_tokens"] = Token.objects.filter(user=user).delete()[0]
            counts["sessions"] = _sessions_delete(Session, user.pk)
            for model, field in _user_foreign_keys():
                model.objects.filter(organization=organization, **{field: user}).update(**{field: None})
            elsewhere = (Membership.objects.filter(user=user).exclude(organization=organization).exists()
                         or Employee.objects.filter(user=user).exclude(organization=organization).exists())
            counts["memberships"] = Membership.objects.filter(organization=organization, user=user).delete()[0]
            if not elsewhere:
                user.delete()
                counts["user_accounts"] = 1
    return counts, files


def _sessions_delete(Session, user_id: int) -> int:
    # Session data is signed and encoded: each one is decoded to find whose it is (expired ones too: they hold data).
    doomed, undecodable = [], 0
    for session in Session.objects.iterator():
        try:
            owner = session.get_decoded().get("_auth_user_id")
        except Exception:  # signed with an old SECRET_KEY, or corrupt: it belongs to nobody we can name
            undecodable += 1
            continue
        if owner == str(user_id):
            doomed.append(session.session_key)
    if undecodable:
        log.warning("erasure of user %s: %s sessions could not be decoded and were left (they sign nobody in)",
                    user_id, undecodable)
    return Session.objects.filter(session_key__in=doomed).delete()[0]


# In the transaction: the audit entry; after commit: the domain event, the files ---------------------------------


def _audit_and_after_commit(organization, subject: Subject, receipt: ErasureReceipt) -> None:
    # Written with the deletion: if the log can't take it, nothing is erased (AuditWriteError rolls it all back).
    record_in_transaction(action="person.erased", organization=organization, object=("employee", subject.employee_id),
                          detail={"receipt_id": str(receipt.receipt_id), "self": receipt.requested_by_subject})
    # Only the id leaves the building: webhooks send employee.deleted with it, and nothing that names the person.
    send_on_commit(employee_deleted, organization_id=subject.organization_id, employee_id=subject.employee_id,
                   email="", external_id="", external_ids={}, erased=True)
    receipt_pk = receipt.pk
    transaction.on_commit(lambda: erasure_files_delete(receipt_id=receipt_pk))


def _delete_with_retries(storage, name: str, attempts: int) -> str | None:
    """Delete one stored file; returns None when gone, else the last error."""
    error = None
    for attempt in range(max(1, attempts)):
        try:
            storage.delete(name)
            return None
        except Exception as exc:  # storage backends raise their own types (OSError, botocore, ...)
            error = f"{exc.__class__.__name__}: {exc}"
            if attempt + 1 < attempts:
                time.sleep(min(0.2 * 2 ** attempt, 2.0))
    return error


def erasure_files_delete(*, receipt_id: int) -> ErasureReceipt | None:
    """Delete the receipt's pending files (retrying each), then update and re-sign the receipt's file counts.

    Files that still can't be deleted stay pending, are logged as errors and shown on the receipt; the daily
    purge_biometrics run tries them again (erasure_files_retry)."""
    with transaction.atomic():
        receipt = ErasureReceipt.objects.select_for_update().filter(pk=receipt_id).first()
        if receipt is None or not receipt.pending_files:
            return receipt
        still, errors = [], []
        for name in receipt.pending_files:
            error = _delete_with_retries(default_storage, name, settings.PRIVACY_ERASURE_FILE_ATTEMPTS)
            if error is not None:
                still.append(name)
                errors.append(error)
        deleted = len(receipt.pending_files) - len(still)
        receipt.files = {"deleted": int(receipt.files.get("deleted", 0)) + deleted, "pending": len(still)}
        receipt.pending_files = still
        receipt_sign(receipt)
        receipt.save(update_fields=["files", "pending_files", "signed_at", "signature_alg", "signature"])
    if still:
        log.error("erasure %s: %d file(s) could not be deleted yet (%s); they will be tried again",
                  receipt.receipt_id, len(still), "; ".join(sorted(set(errors))))
    return receipt


EXPORT_SWEEP_DAYS = 7


def erasure_exports_sweep(*, now=None) -> int:
    """Delete export ZIPs finished after an erasure that still list the erased person (an export that was already
    running when they were erased read them first). Run daily; returns how many ZIPs were deleted."""
    now = now or timezone.now()
    deleted = 0
    for receipt in ErasureReceipt.objects.filter(erased_at__gte=now - timedelta(days=EXPORT_SWEEP_DAYS)):
        subject = Subject(receipt.organization_id, receipt.employee_ref, None, "", "", "", {})
        jobs = (ExportJob.objects.filter(organization_id=receipt.organization_id, finished_at__gte=receipt.erased_at)
                .exclude(file=""))
        found = [job.pk for job in jobs if export_lists_person(job.file.storage, job.file.name, subject)]
        if not found:
            continue
        with transaction.atomic():
            locked = ErasureReceipt.objects.select_for_update().get(pk=receipt.pk)
            erased = ExportJob.objects.filter(pk__in=found)
            locked.pending_files = [*locked.pending_files, *(job.file.name for job in erased)]
            locked.counts = {**locked.counts, "export_zips": int(locked.counts.get("export_zips", 0)) + len(found)}
            locked.files = {**locked.files, "pending": len(locked.pending_files)}
            erased.update(status=EXPORT_ERASED, file="", size_bytes=None, error=_(
                "This export listed a person who has since been erased, so its file was deleted. Start a new "
                "export."))
            receipt_sign(locked)
            locked.save()
            transaction.on_commit(lambda pk=locked.pk: erasure_files_delete(receipt_id=pk))
        deleted += len(found)
        log.warning("erasure %s: %d export(s) made while the person was being erased listed them; deleted",
                    receipt.receipt_id, len(found))
    return deleted


def erasure_files_retry() -> int:
    """Try again every receipt's files that storage refused to delete; returns how many are still pending."""
    pending = 0
    for receipt_id in ErasureReceipt.objects.exclude(pending_files=[]).values_list("pk", flat=True):
        receipt = erasure_files_delete(receipt_id=receipt_id)
        pending += len(receipt.pending_files) if receipt else 0
    return pending
