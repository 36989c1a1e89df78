"""Webhook endpoints, events and deliveries: every change and every attempt goes through a function here."""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.egress import UNREACHABLE_MESSAGE, EgressUnreachable, egress_call, egress_refusal
from config.errors import ServiceError
from config.job_queue import enqueue
from tenancy.models import Organization

from .models import PING_EVENT, DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint, WebhookMessage
from .signing import new_message_id, new_secret, signed_headers

log = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 1024
USER_AGENT = "HeadshotPlatform-Webhooks/1"


class WebhookError(ServiceError):
    """A rule of webhook endpoints or deliveries was broken."""


# Endpoints ---------------------------------------------------------------------------------------------------


def _clean_events(events) -> list[str]:
    if events is None:
        return []
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise WebhookError("unknown_event_type", _("Unknown event types: %(names)s. Known: %(known)s.")
                           % {"names": ", ".join(unknown), "known": ", ".join(EventType.values)})
    return [e for e in EventType.values if e in set(events)]


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    # Resolving here catches an internal host name early; it is checked again before every send (DNS may change).
    refusal = egress_refusal(url)
    if refusal:
        raise WebhookError("invalid_url", refusal)
    return url


def endpoint_create(*, organization: Organization, url: str, description: str = "",
                    events: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(organization=organization, url=_clean_url(url), description=description,
                                          events=_clean_events(events), secret=new_secret())


ENDPOINT_FIELDS = ("url", "description", "events", "enabled")


def endpoint_update(*, endpoint: WebhookEndpoint, **values) -> WebhookEndpoint:
    """Change url, description, events or enabled; enabling again clears why it was disabled."""
    unknown = set(values) - set(ENDPOINT_FIELDS)
    if unknown:
        raise TypeError(f"endpoint_update: unknown fields {sorted(unknown)}")
    if "url" in values:
        values["url"] = _clean_url(values["url"])
    if "events" in values:
        values["events"] = _clean_events(values["events"])
    for key, value in values.items():
        setattr(endpoint, key, value)
    if values.get("enabled") is True:
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
    elif values.get("enabled") is False and endpoint.disabled_at is None:
        endpoint.disabled_reason = _("Disabled by an admin.")
        endpoint.disabled_at = timezone.now()
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret signs from now on; the old one also signs for WEBHOOK_SECRET_ROTATION_GRACE_SECONDS."""
    grace = settings.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS
    endpoint.previous_secret = endpoint.secret if grace > 0 else ""
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=grace) if grace > 0 else None
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    current = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        current.append(endpoint.previous_secret)
    return current


def _endpoint_disable(endpoint_id: int, reason: str) -> None:
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(enabled=False, disabled_reason=reason,
                                                                         disabled_at=now, updated_at=now)
    WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.ABANDONED, last_error=reason, finished_at=now, next_attempt_at=None)


# Events ------------------------------------------------------------------------------------------------------


def message_body(message: WebhookMessage) -> str:
    """The exact bytes that are signed and sent: compact JSON {"type", "timestamp", "data"}."""
    stamp = message.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": message.event_type, "timestamp": stamp, "data": message.payload},
                      separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def _enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Queue these deliveries (jobs.deliver_webhook) once this transaction commits."""
    def send() -> None:
        for pk in delivery_ids:
            enqueue("deliver_webhook", pk)

    transaction.on_commit(send)


def event_emit(*, organization_id: int, event_type: str, data: dict, dedupe_key: str = "") -> WebhookMessage | None:
    """Store the event and one delivery per enabled endpoint of this organization subscribed to it; the deliveries
    are queued once this transaction commits. Nothing is stored when no endpoint listens."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(organization_id=organization_id, enabled=True)
                 if e.subscribes_to(event_type)]
    if not endpoints:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            message = WebhookMessage.objects.create(organization_id=organization_id, message_id=new_message_id(),
                                                    event_type=event_type, payload=data, timestamp=now,
                                                    dedupe_key=dedupe_key)
            deliveries = WebhookDelivery.objects.bulk_create([
                WebhookDelivery(organization_id=organization_id, endpoint=e, message=message, next_attempt_at=now)
                for e in endpoints])
    except IntegrityError:
        if dedupe_key:
            return None  # this event was already emitted (its signal fired again)
        raise
    _enqueue_on_commit([d.pk for d in deliveries])
    return message


def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.ping` event to this endpoint only, through the normal signed, retried delivery."""
    if not endpoint.enabled:
        raise WebhookError("endpoint_disabled", _("This endpoint is disabled; enable it before sending a test."), 409)
    now = timezone.now()
    with transaction.atomic():
        message = WebhookMessage.objects.create(
            organization_id=endpoint.organization_id, message_id=new_message_id(), event_type=PING_EVENT,
            payload={"endpoint_id": endpoint.pk, "message": "This is a test event."}, timestamp=now)
        delivery = WebhookDelivery.objects.create(organization_id=endpoint.organization_id, endpoint=endpoint,
                                                  message=message, next_attempt_at=now)
        _enqueue_on_commit([delivery.pk])
    return delivery


# Delivery ----------------------------------------------------------------------------------------------------


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """An admin's manual retry of a failed or abandoned delivery: one more signed attempt, queued now (the same
    message id, so a receiver that did get it before can tell it is a repeat)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint")
                    .get(pk=delivery.pk))
        if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SUCCEEDED):
            raise WebhookError("not_retryable", _("Only a failed or abandoned delivery can be retried; this one is "
                                                  "%(status)s.") % {"status": delivery.get_status_display()}, 409)
        if not delivery.endpoint.enabled:
            raise WebhookError("endpoint_disabled", _("This endpoint is disabled; enable it before retrying."), 409)
        delivery.status, delivery.finished_at, delivery.next_attempt_at = DeliveryStatus.PENDING, None, timezone.now()
        delivery.save(update_fields=["status", "finished_at", "next_attempt_at"])
        _enqueue_on_commit([delivery.pk])
    return delivery



def retry_delay(attempts: int, *, retry_after: float | None = None, rand=random.random) -> float:
    """Seconds to wait after `attempts` failed attempts: the receiver's Retry-After when it gave one (capped),
    else WEBHOOK_RETRY_SCHEDULE (its last step repeats) spread by +/- WEBHOOK_RETRY_JITTER so that many
    deliveries failing together don't come back together."""
    if retry_after is not None:
        return float(min(max(retry_after, 0.0), settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    base = schedule[min(max(attempts, 1), len(schedule)) - 1]
    return base * (1 + settings.WEBHOOK_RETRY_JITTER * (2 * rand() - 1))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as delay-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


@dataclass
class AttemptOutcome:
    status_code: int | None = None
    response_excerpt: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS + 60)


def _read_excerpt(raw, *, deadline: float) -> bytes:
    """At most 1 KB of the answer, for at most until `deadline`: a receiver can neither make the worker download
    a large body nor hold it by trickling one byte at a time."""
    excerpt = b""
    while len(excerpt) < RESPONSE_EXCERPT_BYTES and time.monotonic() < deadline:
        chunk = raw.read1(RESPONSE_EXCERPT_BYTES - len(excerpt), decode_content=True)
        if not chunk:
            break
        excerpt += chunk
    return excerpt


def _post(endpoint: WebhookEndpoint, message: WebhookMessage) -> AttemptOutcome:
    body = message_body(message)
    # The timestamp is the attempt's, so a retry hours later still passes receivers' 5-minute tolerance.
    headers = signed_headers(msg_id=message.message_id, timestamp=int(time.time()), body=body,
                             secret_list=signing_secrets(endpoint, timezone.now()))
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    started = time.monotonic()
    budget = settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS
    try:
        with egress_call("POST", endpoint.url, data=body.encode(), headers=headers, stream=True,
                         verify=settings.WEBHOOK_CA_BUNDLE or True,
                         timeout=(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                                  settings.WEBHOOK_READ_TIMEOUT_SECONDS)) as response:
            excerpt = _read_excerpt(response.raw, deadline=started + budget)
            retry_after = None
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"), timezone.now())
            error = "" if 200 <= response.status_code < 300 else (
                f"HTTP {response.status_code} {response.reason or ''}".strip())
            return AttemptOutcome(status_code=response.status_code, retry_after=retry_after,
                                  response_excerpt=excerpt.decode("utf-8", "replace"), error=error)
    except EgressUnreachable as unreachable:
        return AttemptOutcome(error=unreachable.message)


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """The body of the deliver_webhook job: one attempt if the delivery is pending and due, then its outcome.

    Safe to run twice or late: a succeeded, failed or abandoned delivery is never sent again, and a claimed
    attempt pushes next_attempt_at ahead (a lease) so a duplicate message finds it not due.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint", "message")
                    .filter(pk=delivery_id).first())
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return delivery
        # One second of slack: the queue's delay is counted from a moment just after next_attempt_at was set.
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return delivery
        if not delivery.endpoint.enabled:
            _delivery_close(delivery, DeliveryStatus.ABANDONED, now,
                            error=_("The endpoint is disabled: %(reason)s")
                            % {"reason": delivery.endpoint.disabled_reason})
            return delivery
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + _lease()
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    try:
        outcome = _post(delivery.endpoint, delivery.message)
    except Exception:  # an attempt that broke in an unforeseen way still counts and is retried
        log.exception("webhook delivery %s: attempt failed unexpectedly", delivery.pk)
        outcome = AttemptOutcome(error=UNREACHABLE_MESSAGE)  # the details (maybe about our network) stay in the log
    return _delivery_record(delivery.pk, outcome)


def _delivery_close(delivery: WebhookDelivery, status: str, now: datetime, error: str = "") -> None:
    delivery.status = status
    delivery.finished_at = now
    delivery.next_attempt_at = None
    if error:
        delivery.last_error = error
    delivery.save()


def _delivery_record(delivery_id: int, outcome: AttemptOutcome) -> WebhookDelivery:
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.last_status_code = outcome.status_code
        delivery.last_response = outcome.response_excerpt[:RESPONSE_EXCERPT_BYTES]
        delivery.last_error = outcome.error
        if outcome.succeeded:
            _delivery_close(delivery, DeliveryStatus.SUCCEEDED, now)
        elif outcome.status_code == 410:
            # 410 Gone: the receiver says this endpoint no longer exists; stop everything sent to it.
            _delivery_close(delivery, DeliveryStatus.ABANDONED, now)
            _endpoint_disable(delivery.endpoint_id, _("The receiver answered 410 Gone on %(when)s.")
                              % {"when": now.strftime("%Y-%m-%d %H:%M:%S UTC")})
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            _delivery_close(delivery, DeliveryStatus.FAILED, now)
        else:
            delay = retry_delay(delivery.attempts, retry_after=outcome.retry_after)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            delivery.save()
            transaction.on_commit(lambda: _send_later(delivery_id, delay))
    return delivery


def _send_later(delivery_id: int, delay_seconds: float) -> None:
    enqueue("deliver_webhook", delivery_id, delay_ms=int(delay_seconds * 1000))


def deliveries_resend_due(*, overdue_seconds: float = 60, limit: int = 1000) -> int:
    """Queue again the pending deliveries whose attempt is overdue (a queue message lost with Redis, a worker killed
    mid-attempt after its lease ran out). All organizations: this is the deployment's own housekeeping."""
    cutoff = timezone.now() - timedelta(seconds=overdue_seconds)
    due = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for pk in due:
        enqueue("deliver_webhook", pk)
    return len(due)
