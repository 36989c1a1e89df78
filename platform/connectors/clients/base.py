"""What every destination client shares: the image it gets, the error it raises, how HTTP answers map to both."""
from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings

from config.egress import EgressUnreachable, egress_refusal, egress_request

# Why a push failed; only the transient ones are retried.
CREDENTIALS = "credentials"
TOO_LARGE = "too_large"
BAD_IMAGE = "bad_image"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
NOT_FOUND = "not_found"
INVALID = "invalid"
NETWORK = "network"
RETRYABLE = frozenset({RATE_LIMITED, UNAVAILABLE, NETWORK})


class Image(Protocol):
    """What a client sends: integrations.delivery.Delivered has these attributes."""

    data: bytes
    content_type: str
    width: int
    height: int


@dataclass
class PushResult:
    remote_id: str = ""
    etag: str = ""


class PushError(Exception):
    """A destination refused or could not take the photo; `message` is for the admin who reads the sync status."""

    def __init__(self, message: str, *, reason: str, status_code: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


def retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def their_message(response: requests.Response) -> str:
    """The destination's own words for an error, from whichever place that vendor puts them."""
    header = response.headers.get("X-BambooHR-Error-Message")
    if header:
        return header
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])  # Graph and Google: {"error": {"code", "message"}}
        if body.get("error_description"):
            return str(body["error_description"])  # OAuth token endpoints (RFC 6749 §5.2)
        if isinstance(error, str):
            return error
    text = (response.text or "").strip()
    return text[:300] or f"HTTP {response.status_code}"


def check_response(response: requests.Response, label: str) -> None:
    """Raise the PushError an HTTP answer means; return quietly on success."""
    status = response.status_code
    if status < 300:
        return
    message = their_message(response)
    if status in (401, 403):
        raise PushError(f"credentials rejected by {label}: {message}", reason=CREDENTIALS, status_code=status)
    if status == 413:
        raise PushError(f"{label} refused the photo as too large: {message}", reason=TOO_LARGE, status_code=status)
    if status == 429:
        raise PushError(f"{label} asked us to slow down (HTTP 429): {message}", reason=RATE_LIMITED,
                        status_code=status, retry_after=retry_after_seconds(response))
    if status >= 500:
        # 503 may carry Retry-After too (BambooHR throttled with 503 until September 2026): it is honoured.
        raise PushError(f"{label} is unavailable (HTTP {status}): {message}", reason=UNAVAILABLE, status_code=status,
                        retry_after=retry_after_seconds(response))
    if status == 404:
        raise PushError(f"{label} does not know this person: {message}", reason=NOT_FOUND, status_code=status)
    if status in (400, 415, 422):
        raise PushError(f"{label} refused the photo: {message}", reason=BAD_IMAGE, status_code=status)
    raise PushError(f"{label} answered HTTP {status}: {message}", reason=INVALID, status_code=status)


def send(method: str, url: str, label: str, **kwargs) -> requests.Response:
    """One HTTP call through the egress guard with the configured timeout; a call that could not be made (refused
    address, closed port, TLS failure: one message for all) becomes a retryable PushError."""
    try:
        return egress_request(method, url, timeout=settings.CONNECTOR_HTTP_TIMEOUT, **kwargs)
    except EgressUnreachable as unreachable:
        raise PushError(f"could not reach {label}: {unreachable.message}", reason=NETWORK) from None


def base_url(override: str, default: str) -> str:
    # Not checked here but at each call (send), so a refused address fails exactly like an unreachable one.
    return (override or default).rstrip("/")


def check_base_url(url: str) -> None:
    """Credentials travel to these URLs: https to a public address (the egress guard), checked again at each call."""
    refusal = egress_refusal(url)
    if refusal:
        raise ValueError(refusal)


# Access tokens per process, so a rollout of thousands of pushes asks the token endpoint about once an hour, not
# once per photo. Keyed by a hash of everything that identifies the grant (URL, client, secret or key, subject).
_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def token_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def cached_token(key: str, fetch: Callable[[], tuple[str, int]]) -> tuple[str, bool]:
    """(token, whether it came from the cache); fetch() returns (token, expires_in seconds)."""
    with _tokens_lock:
        hit = _tokens.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0], True
    token, expires_in = fetch()
    with _tokens_lock:
        # A minute early: a token must not expire between our check and the destination's.
        _tokens[key] = (token, time.monotonic() + max(0, int(expires_in) - 60))
    return token, False


def forget_token(key: str) -> None:
    with _tokens_lock:
        _tokens.pop(key, None)


def authorized_send(method: str, url: str, label: str, *, key: str, fetch: Callable[[], tuple[str, int]],
                    headers: dict | None = None, **kwargs) -> requests.Response:
    """send() with a bearer token from the cache; a 401 on a cached token (revoked, rotated) gets one fresh token."""
    token, cached = cached_token(key, fetch)
    response = send(method, url, label, headers={**(headers or {}), "Authorization": f"Bearer {token}"}, **kwargs)
    if response.status_code == 401 and cached:
        forget_token(key)
        token, _ = cached_token(key, fetch)
        response = send(method, url, label, headers={**(headers or {}), "Authorization": f"Bearer {token}"}, **kwargs)
    return response
