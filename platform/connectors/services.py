"""Photo pushes: connections, the per-employee sync rows an approval creates, the push itself with its retry rules,
the employee's Slack link, and removing a deleted employee's photo from every destination."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ServiceError
from config.job_queue import enqueue_on_commit
from integrations.delivery import preset_for
from teams.models import Employee, Headshot
from tenancy.models import Organization

from .clients import bamboohr, google_directory, microsoft_graph, slack
from .clients.base import CREDENTIALS, PushError, PushResult, check_base_url
from .models import (
    Connection,
    ConnectionKind,
    DeletionStatus,
    Destination,
    PhotoDeletion,
    PhotoSync,
    SlackConnection,
    SyncStatus,
)

log = logging.getLogger(__name__)

# Which integrations.delivery preset each destination's photo is rendered with.
PRESETS = {Destination.MICROSOFT_GRAPH: "microsoft365", Destination.GOOGLE_DIRECTORY: "google",
           Destination.SLACK: "slack", Destination.BAMBOOHR: "bamboohr"}
REQUIRED_CREDENTIALS = {ConnectionKind.MICROSOFT_GRAPH: microsoft_graph.REQUIRED,
                        ConnectionKind.GOOGLE_DIRECTORY: google_directory.REQUIRED,
                        ConnectionKind.BAMBOOHR: bamboohr.REQUIRED}
LABELS = {Destination.MICROSOFT_GRAPH: microsoft_graph.LABEL, Destination.GOOGLE_DIRECTORY: google_directory.LABEL,
          Destination.BAMBOOHR: bamboohr.LABEL, Destination.SLACK: slack.LABEL}


class ConnectorError(ServiceError):
    """A rule of directory connections or photo pushes was broken."""


# Connections ---------------------------------------------------------------------------------------------------


def _check_connection(kind: str, credentials: dict, base_url: str, auth_url: str) -> None:
    missing = [name for name in REQUIRED_CREDENTIALS[kind] if not credentials.get(name)]
    if missing:
        raise ConnectorError("missing_credentials", f"These credentials are missing: {', '.join(missing)}.")
    unknown = set(credentials) - set(REQUIRED_CREDENTIALS[kind])
    if unknown:
        raise ConnectorError("unknown_credentials", f"Unknown credentials for {kind}: {', '.join(sorted(unknown))}.")
    if kind == ConnectionKind.GOOGLE_DIRECTORY:
        try:
            google_directory.load_service_account(credentials["service_account"])
        except (ValueError, TypeError) as exc:
            raise ConnectorError("invalid_credentials", f"The service account key can't be used: {exc}") from None
    for url in (base_url, auth_url):
        if url:
            try:
                check_base_url(url.rstrip("/"))
            except ValueError as exc:
                raise ConnectorError("invalid_url", str(exc)) from None


def connection_create(*, organization: Organization, kind: str, credentials: dict, base_url: str = "",
                      auth_url: str = "", enabled: bool = True) -> Connection:
    _check_connection(kind, credentials, base_url, auth_url)
    try:
        with transaction.atomic():
            return Connection.objects.create(organization=organization, kind=kind, credentials=credentials,
                                             base_url=base_url, auth_url=auth_url, enabled=enabled)
    except IntegrityError:
        raise ConnectorError("duplicate_connection", f"This organization already has a {kind} connection; "
                             "change that one instead.", 409) from None


def connection_update(*, connection: Connection, credentials: dict | None = None, **values) -> Connection:
    """Change a connection; credentials given are merged in, so one secret can be rotated without resending all."""
    unknown = set(values) - {"base_url", "auth_url", "enabled"}
    if unknown:
        raise TypeError(f"connection_update: unknown fields {sorted(unknown)}")
    merged = {**connection.credentials, **(credentials or {})}
    _check_connection(connection.kind, merged, values.get("base_url", connection.base_url),
                      values.get("auth_url", connection.auth_url))
    connection.credentials = merged
    for key, value in values.items():
        setattr(connection, key, value)
    connection.save()
    return connection


def _client(connection: Connection):
    try:
        if connection.kind == ConnectionKind.MICROSOFT_GRAPH:
            return microsoft_graph.GraphClient(credentials=connection.credentials, base=connection.base_url,
                                               auth=connection.auth_url)
        if connection.kind == ConnectionKind.GOOGLE_DIRECTORY:
            return google_directory.GoogleDirectoryClient(credentials=connection.credentials,
                                                          base=connection.base_url, auth=connection.auth_url)
        return bamboohr.BambooHRClient(credentials=connection.credentials, base=connection.base_url)
    except (KeyError, ValueError, TypeError) as exc:
        raise PushError(f"the {connection.get_kind_display()} connection is not usable: {exc}",
                        reason=CREDENTIALS) from None


def connection_test(*, connection: Connection) -> None:
    """Sign in to the vendor with the stored credentials (an authenticated read for BambooHR), changing nothing
    there; ConnectorError with the vendor's own words when it refuses or can't be reached."""
    try:
        _client(connection).check()
    except PushError as exc:
        raise ConnectorError("connection_failed", str(exc), 502) from None


def connection_delete(*, connection: Connection) -> None:
    connection.delete()


# Sync rows ------------------------------------------------------------------------------------------------------


def _remote_user(destination: str, employee) -> str:
    """The person's key at the destination: their mapped id there, else (where the API takes one) the email."""
    ids = employee.external_ids or {} if isinstance(employee, Employee) else employee.get("external_ids") or {}
    email = employee.email if isinstance(employee, Employee) else employee.get("email", "")
    external_id = employee.external_id if isinstance(employee, Employee) else employee.get("external_id", "")
    if destination == Destination.MICROSOFT_GRAPH:
        return str(ids.get("microsoft") or email)
    if destination == Destination.GOOGLE_DIRECTORY:
        return str(ids.get("google") or email)
    if destination == Destination.BAMBOOHR:
        return str(ids.get("bamboohr") or external_id or "")
    return ""


def _enqueue(photo_sync: PhotoSync, delay_seconds: float | None = None) -> None:
    """Queue the push (jobs.push_photo) once this transaction commits, `delay_seconds` later when given."""
    enqueue_on_commit("push_photo", photo_sync.pk, photo_sync.attempts,
                      delay_ms=int(delay_seconds * 1000) if delay_seconds else None)


def _skip(photo_sync: PhotoSync, reason: str) -> None:
    photo_sync.status = SyncStatus.SKIPPED
    photo_sync.last_error = reason
    photo_sync.next_attempt_at = None
    photo_sync.save()


def _refresh(*, employee: Employee, headshot: Headshot, destination: str,
             connection: Connection | None) -> PhotoSync:
    photo_sync, _ = PhotoSync.objects.select_for_update().get_or_create(
        organization=employee.organization, employee=employee, destination=destination)
    photo_sync.connection = connection
    photo_sync.headshot = headshot
    photo_sync.attempts = 0
    photo_sync.last_error = ""
    photo_sync.last_status_code = None
    photo_sync.next_attempt_at = None
    if not employee.active:
        _skip(photo_sync, "The employee is deactivated; photos are not pushed for deactivated people.")
    elif destination != Destination.SLACK and not _remote_user(destination, employee):
        _skip(photo_sync, f"No {LABELS[destination]} employee id is known for this person "
                          f"(set external_ids.{destination.split('_')[0]} or the external id).")
    elif photo_sync.status == SyncStatus.SYNCED and photo_sync.synced_headshot_id == headshot.pk:
        photo_sync.save()  # the destination holds this photo already
    else:
        photo_sync.status = SyncStatus.PENDING
        photo_sync.save()
        _enqueue(photo_sync)
    return photo_sync


@transaction.atomic
def photo_syncs_for_approval(*, headshot: Headshot) -> list[PhotoSync]:
    """One row per destination this employee's photo goes to (enabled connections + their Slack link), each queued."""
    employee = Employee.objects.select_for_update().get(pk=headshot.employee_id)
    rows = []
    connections = Connection.objects.for_organization(employee.organization).filter(enabled=True).order_by("kind")
    for connection in connections:
        rows.append(_refresh(employee=employee, headshot=headshot, destination=connection.kind,
                             connection=connection))
    if SlackConnection.objects.filter(employee=employee).exists():
        rows.append(_refresh(employee=employee, headshot=headshot, destination=Destination.SLACK, connection=None))
    return rows


def photo_sync_retry(*, photo_sync: PhotoSync) -> PhotoSync:
    """An admin's retry: a fresh round of attempts with the employee's current approved photo."""
    if photo_sync.status == SyncStatus.PENDING and photo_sync.next_attempt_at is None and photo_sync.attempts == 0:
        raise ConnectorError("already_pending", "This push is already queued.", 409)
    headshot = (Headshot.objects.filter(employee_id=photo_sync.employee_id, approved=True)
                .order_by("-approved_at", "-pk").first())
    if headshot is None:
        raise ConnectorError("no_approved_headshot", "This employee has no approved headshot to push.", 409)
    connection = photo_sync.connection
    if photo_sync.destination != Destination.SLACK and (connection is None or not connection.enabled):
        raise ConnectorError("connection_disabled", "The connection for this destination is missing or disabled.", 409)
    if photo_sync.destination == Destination.SLACK and not SlackConnection.objects.filter(
            employee_id=photo_sync.employee_id).exists():
        raise ConnectorError("slack_not_connected", "The employee has not connected Slack.", 409)
    with transaction.atomic():
        employee = Employee.objects.select_for_update().get(pk=photo_sync.employee_id)
        if photo_sync.status == SyncStatus.SYNCED and photo_sync.synced_headshot_id == headshot.pk:
            photo_sync.status = SyncStatus.PENDING  # an explicit retry pushes again even if nothing changed
            photo_sync.synced_headshot = None
            photo_sync.save()
        return _refresh(employee=employee, headshot=headshot, destination=photo_sync.destination,
                        connection=connection)


# The push ------------------------------------------------------------------------------------------------------


def _client_push(photo_sync: PhotoSync, image) -> PushResult:
    destination = photo_sync.destination
    employee = photo_sync.employee
    if destination == Destination.SLACK:
        link = SlackConnection.objects.filter(employee=employee).first()
        if link is None:
            raise PushError("the employee disconnected Slack", reason=CREDENTIALS)
        return slack.SlackClient(token=link.access_token).put_photo(image)
    connection = photo_sync.connection
    user = _remote_user(destination, employee)
    client = _client(connection)
    return client.put_photo(user, image)


def _retry_delay(error: PushError, attempts: int) -> float:
    if error.retry_after is not None:
        return min(max(error.retry_after, 1.0), settings.CONNECTOR_RETRY_AFTER_MAX_SECONDS)
    return min(settings.CONNECTOR_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), settings.CONNECTOR_BACKOFF_MAX_SECONDS)


def photo_sync_run(photo_sync_id: int, attempt: int) -> PhotoSync | None:
    """One attempt of one push (the job). A message for an older round (attempt differs) is dropped as stale."""
    with transaction.atomic():
        photo_sync = (PhotoSync.objects.select_for_update(of=("self",))
                      .select_related("employee", "connection", "headshot").filter(pk=photo_sync_id).first())
        if photo_sync is None or photo_sync.status != SyncStatus.PENDING or photo_sync.attempts != attempt:
            return None
        photo_sync.attempts += 1
        photo_sync.next_attempt_at = None
        photo_sync.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    employee = photo_sync.employee
    if not employee.active:
        return _settle(photo_sync, status=SyncStatus.SKIPPED,
                       last_error="The employee is deactivated; photos are not pushed for deactivated people.")
    if photo_sync.headshot is None or not photo_sync.headshot.approved:
        return _settle(photo_sync, status=SyncStatus.SKIPPED, last_error="The headshot to push is no longer approved.")
    if photo_sync.destination != Destination.SLACK and (photo_sync.connection is None
                                                         or not photo_sync.connection.enabled):
        return _settle(photo_sync, status=SyncStatus.SKIPPED,
                       last_error="The connection for this destination was removed or disabled.")
    try:
        image = preset_for(PRESETS[photo_sync.destination]).render(photo_sync.headshot)
    except (ValueError, OSError) as exc:
        return _settle(photo_sync, status=SyncStatus.FAILED,
                       last_error=f"The photo could not be prepared for {LABELS[photo_sync.destination]}: {exc}")
    try:
        result = _client_push(photo_sync, image)
    except PushError as error:
        if error.retryable and photo_sync.attempts < settings.CONNECTOR_MAX_ATTEMPTS:
            delay = _retry_delay(error, photo_sync.attempts)
            return _settle(photo_sync, status=SyncStatus.PENDING, last_status_code=error.status_code,
                           last_error=f"{error.message} (attempt {photo_sync.attempts}; retrying in {delay:.0f} s)",
                           next_attempt_at=timezone.now() + timedelta(seconds=delay), retry_in=delay)
        message = error.message
        if error.retryable:
            message = f"{message} (gave up after {photo_sync.attempts} attempts)"
        return _settle(photo_sync, status=SyncStatus.FAILED, last_error=message, last_status_code=error.status_code)
    return _settle(photo_sync, status=SyncStatus.SYNCED, synced_headshot=photo_sync.headshot,
                   synced_at=timezone.now(), remote_id=result.remote_id, remote_etag=result.etag or image.etag)


def _settle(photo_sync: PhotoSync, *, retry_in: float | None = None, **fields) -> PhotoSync:
    """Record an attempt's outcome, unless the row moved on meanwhile (a new approval or an admin's retry started a
    fresh round): then this outcome is stale and the newer round's job decides."""
    fields = {"last_error": "", "last_status_code": None, "next_attempt_at": None, **fields}
    with transaction.atomic():
        current = PhotoSync.objects.select_for_update().filter(pk=photo_sync.pk).values_list(
            "status", "attempts", "headshot_id").first()
        if current != (SyncStatus.PENDING, photo_sync.attempts, photo_sync.headshot_id):
            return photo_sync
        for key, value in fields.items():
            setattr(photo_sync, key, value)
        photo_sync.save()
        if retry_in is not None:
            _enqueue(photo_sync, retry_in)
    if photo_sync.status == SyncStatus.FAILED:
        log.warning("photo push %s to %s failed: %s", photo_sync.pk, photo_sync.destination, photo_sync.last_error)
    return photo_sync


# Slack: each employee connects their own account ---------------------------------------------------------------

SLACK_STATE_SALT = "connectors.slack.state"
SLACK_STATE_MAX_AGE = 600
SLACK_SESSION_KEY = "connectors_slack_nonce"


def slack_configured() -> bool:
    return bool(settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET)


def slack_state_issue(*, session, organization: Organization, user_id: int) -> str:
    """A signed state bound to this browser session (a nonce kept in it) and this user: the OAuth CSRF guard."""
    nonce = secrets.token_urlsafe(24)
    session[SLACK_SESSION_KEY] = nonce
    return signing.dumps({"org": organization.pk, "user": user_id, "nonce": nonce}, salt=SLACK_STATE_SALT)


def slack_state_check(*, session, state: str, user_id: int) -> int:
    """The organization id the state was issued for; ConnectorError unless it is fresh, ours and this session's."""
    nonce = session.pop(SLACK_SESSION_KEY, None)
    try:
        data = signing.loads(state, salt=SLACK_STATE_SALT, max_age=SLACK_STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise ConnectorError("state_expired", "The Slack sign-in took too long; please start again.") from None
    except signing.BadSignature:
        raise ConnectorError("bad_state", "The Slack sign-in could not be verified; please start again.") from None
    if not nonce or not secrets.compare_digest(str(data.get("nonce")), nonce) or data.get("user") != user_id:
        raise ConnectorError("bad_state", "The Slack sign-in was started in another session; please start again.")
    return int(data["org"])


def slack_connect(*, employee: Employee, code: str, redirect_uri: str) -> SlackConnection:
    """Exchange the OAuth code for the employee's user token, keep it, and push their approved photo right away."""
    try:
        answer = slack.exchange_code(code=code, redirect_uri=redirect_uri)
    except PushError as error:
        raise ConnectorError("slack_refused", f"Slack did not connect: {error.message}", 502) from None
    user = answer.get("authed_user") or {}
    token = str(user.get("access_token") or "")
    if not token.startswith("xoxp-"):
        raise ConnectorError("slack_no_user_token", "Slack did not give a user token; please start again.", 502)
    scopes = set(str(user.get("scope") or "").split(","))
    if slack.USER_SCOPE not in scopes:
        raise ConnectorError("slack_scope_missing", f"Slack did not grant {slack.USER_SCOPE}; please allow it.", 400)
    with transaction.atomic():
        link, _ = SlackConnection.objects.update_or_create(
            employee=employee, defaults={"organization": employee.organization, "access_token": token,
                                         "team_id": str((answer.get("team") or {}).get("id") or ""),
                                         "slack_user_id": str(user.get("id") or ""), "scope": ",".join(sorted(scopes))})
        headshot = (Headshot.objects.filter(employee=employee, approved=True).order_by("-approved_at", "-pk").first())
        if headshot is not None:
            locked = Employee.objects.select_for_update().get(pk=employee.pk)
            _refresh(employee=locked, headshot=headshot, destination=Destination.SLACK, connection=None)
    return link


def slack_disconnect(*, employee: Employee) -> bool:
    with transaction.atomic():
        deleted, _ = SlackConnection.objects.filter(employee=employee).delete()
        PhotoSync.objects.filter(employee=employee, destination=Destination.SLACK).delete()
    return bool(deleted)


# Deleted employees: their photo leaves every destination that lets us remove it --------------------------------


def slack_photo_deletion_keep(employee: Employee) -> PhotoDeletion | None:
    """Before an employee row goes, keep what removing the photo we set in Slack needs: only the person's own token
    can (users.deletePhoto), and their Slack link is deleted with them. Only a photo we pushed is removed."""
    link = SlackConnection.objects.filter(employee=employee).first()
    pushed = PhotoSync.objects.filter(employee=employee, destination=Destination.SLACK,
                                      status=SyncStatus.SYNCED).exists()
    if link is None or not pushed:
        return None
    row, _ = PhotoDeletion.objects.get_or_create(
        organization=employee.organization, employee_ref=employee.pk, destination=Destination.SLACK,
        defaults={"remote_user": link.slack_user_id, "credential": link.access_token})
    return row


def photo_delete_everywhere(organization: Organization, employee_snapshot: dict) -> list[PhotoDeletion]:
    """Record and perform the removal of a deleted employee's photo at each enabled connection, and in Slack.

    employee_snapshot: what teams.signals.employee_deleted sends (employee_id, email, external_id, external_ids).
    Microsoft Graph and Google Directory delete the photo; BambooHR documents no photo delete (recorded as
    unsupported, for a person to do by hand); Slack deletes it with the token slack_photo_deletion_keep() kept.
    """
    rows = []
    employee_id = int(employee_snapshot["employee_id"])
    for connection in Connection.objects.for_organization(organization).filter(enabled=True).order_by("kind"):
        user = _remote_user(connection.kind, employee_snapshot)
        row = PhotoDeletion.objects.filter(organization=organization, employee_ref=employee_id,
                                           destination=connection.kind).first()
        if row is None:
            row = PhotoDeletion.objects.create(organization=organization, employee_ref=employee_id,
                                               destination=connection.kind, connection=connection, remote_user=user)
        if connection.kind == ConnectionKind.MICROSOFT_GRAPH:
            remove = microsoft_graph.GraphClient(credentials=connection.credentials, base=connection.base_url,
                                                 auth=connection.auth_url).delete_photo
        elif connection.kind == ConnectionKind.GOOGLE_DIRECTORY:
            remove = google_directory.GoogleDirectoryClient(credentials=connection.credentials,
                                                            base=connection.base_url,
                                                            auth=connection.auth_url).delete_photo
        else:
            remove = None
        rows.append(_photo_deletion_run(row, remove and (lambda remove=remove, user=user: remove(user))))
    for row in PhotoDeletion.objects.filter(organization=organization, employee_ref=employee_id,
                                            destination=Destination.SLACK):
        rows.append(_photo_deletion_run(row, slack.SlackClient(token=row.credential).delete_photo))
    return rows


def _photo_deletion_run(row: PhotoDeletion, remove) -> PhotoDeletion:
    """Call `remove` (None: the destination has no delete) unless the row is settled; record the outcome."""
    if row.status in (DeletionStatus.DONE, DeletionStatus.UNSUPPORTED):
        return row
    label = LABELS[row.destination]
    try:
        if remove is None:
            row.status = DeletionStatus.UNSUPPORTED
            row.last_error = (f"{label} has no API to delete a photo; remove it there by hand "
                              f"(employee {row.remote_user or 'unknown'}).")
        else:
            remove()
    except PushError as error:
        row.status = DeletionStatus.FAILED
        row.last_error = error.message
        row.last_status_code = error.status_code
        if row.destination == Destination.SLACK and error.reason == CREDENTIALS:
            # The person's token is dead and nobody else's can do it: nothing left to retry with.
            row.status, row.credential = DeletionStatus.UNSUPPORTED, ""
            row.last_error = f"{error.message}; remove the photo in Slack by hand."
    except (KeyError, ValueError, TypeError) as exc:
        row.status = DeletionStatus.FAILED
        row.last_error = f"the {label} connection is not usable: {exc}"
    else:
        if row.status != DeletionStatus.UNSUPPORTED:
            row.status = DeletionStatus.DONE
            row.last_error = ""
            row.remote_user = row.credential = ""  # done: keep no identifier or key of the erased person
    row.finished_at = timezone.now() if row.status != DeletionStatus.FAILED else None
    row.save()
    return row
