"""API key writes: create (the key is returned once), rotate, revoke, and the lookup that authenticates a request."""
from __future__ import annotations

import hmac
import logging
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record_in_transaction
from config.errors import ServiceError
from tenancy.models import Organization

from .models import API_KEY_PREFIX, ApiKey, ApiKeyScope, api_key_digest

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.digits
PUBLIC_ID_LENGTH = 12
SECRET_LENGTH = 40  # 40 characters of 62 symbols: ~238 bits
KEY_LENGTH = len(API_KEY_PREFIX) + PUBLIC_ID_LENGTH + SECRET_LENGTH


class IntegrationsError(ServiceError):
    """A rule of API keys, the pull API or exports was broken."""


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    key: str  # the full key: shown once, never stored


def _clean_scopes(scopes: list[str]) -> list[str]:
    valid = set(ApiKeyScope.values)
    if not isinstance(scopes, (list, tuple)) or not scopes:
        raise IntegrationsError("invalid_scopes", f"Give at least one scope: {', '.join(sorted(valid))}.")
    unknown = sorted({s for s in scopes if s not in valid}, key=str)
    if unknown:
        raise IntegrationsError("invalid_scopes", f"Unknown scope(s) {', '.join(map(str, unknown))}; "
                                                  f"valid scopes are {', '.join(sorted(valid))}.")
    return sorted(set(scopes))


def _issue(**fields) -> IssuedApiKey:
    for _ in range(5):
        public_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
        key = API_KEY_PREFIX + public_id + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(prefix=API_KEY_PREFIX + public_id, secret_hash=api_key_digest(key),
                                                **fields)
        except IntegrityError:  # a public id collision (2^-62 per pair): draw again
            continue
        return IssuedApiKey(api_key=api_key, key=key)
    raise RuntimeError("could not draw a unique API key id")


def api_key_create(*, organization: Organization, name: str, scopes: list[str], created_by: User | None,
                   expires_at: datetime | None = None) -> IssuedApiKey:
    name = (name or "").strip()
    if not name:
        raise IntegrationsError("invalid_name", "Give the key a name (e.g. the system that will use it).")
    if expires_at is not None and expires_at <= timezone.now():
        raise IntegrationsError("invalid_expiry", "expires_at must be in the future.")
    with transaction.atomic():
        issued = _issue(organization=organization, name=name, scopes=_clean_scopes(scopes), created_by=created_by,
                        expires_at=expires_at)
        record_in_transaction(action="api_key.created", organization=organization, actor=created_by,
                              object=issued.api_key, detail={"scopes": issued.api_key.scopes})
    log.info("api key %s created in org %s by %s", issued.api_key.prefix, organization.pk, created_by)
    return issued


def api_key_rotate(*, api_key: ApiKey, created_by: User | None, grace_seconds: int = 0) -> IssuedApiKey:
    """A new key with the same name, scopes and expiry; the old one stops working now, or after grace_seconds.

    The grace period lets a system switch to the new key without a window of failed calls; it is capped by
    API_KEY_ROTATION_MAX_GRACE_SECONDS.
    """
    limit = settings.API_KEY_ROTATION_MAX_GRACE_SECONDS
    if not isinstance(grace_seconds, int) or not 0 <= grace_seconds <= limit:
        raise IntegrationsError("invalid_grace", f"grace_seconds must be a whole number from 0 to {limit}.")
    now = timezone.now()
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if old.is_revoked(now):
            raise IntegrationsError("key_revoked", "This key is revoked; create a new one instead.", 409)
        if old.revoked_at is not None:
            raise IntegrationsError("key_rotating", "This key was already rotated; rotate its replacement instead.",
                                    409)
        if old.is_expired(now):
            raise IntegrationsError("key_expired", "This key has expired; create a new one instead.", 409)
        issued = _issue(organization=old.organization, name=old.name, scopes=list(old.scopes),
                        created_by=created_by, expires_at=old.expires_at, rotated_from=old)
        old.revoked_at = now + timedelta(seconds=grace_seconds)
        old.save(update_fields=["revoked_at"])
        record_in_transaction(action="api_key.rotated", organization=old.organization_id, actor=created_by,
                              object=old, detail={"new_api_key_id": issued.api_key.pk,
                                                  "grace_seconds": grace_seconds})
    log.info("api key %s rotated to %s (grace %s s)", old.prefix, issued.api_key.prefix, grace_seconds)
    api_key.revoked_at = old.revoked_at
    return issued


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Stop the key now (idempotent: an already revoked key keeps its original time)."""
    now = timezone.now()
    if not api_key.is_revoked(now):
        with transaction.atomic():
            api_key.revoked_at = now
            api_key.save(update_fields=["revoked_at"])
            record_in_transaction(action="api_key.revoked", organization=api_key.organization_id, object=api_key)
        log.info("api key %s revoked", api_key.prefix)
    return api_key


def api_key_authenticate(key: str) -> ApiKey:
    """The live key for this secret, or IntegrationsError (status 401) saying why not."""
    if not key.startswith(API_KEY_PREFIX) or len(key) != KEY_LENGTH:
        raise IntegrationsError("invalid_api_key", "Invalid API key.", 401)
    api_key = (ApiKey.objects.select_related("organization")
               .filter(prefix=key[:len(API_KEY_PREFIX) + PUBLIC_ID_LENGTH]).first())
    # Compare digests in constant time even when no row matched, so timing doesn't tell which prefixes exist.
    expected = api_key.secret_hash if api_key else "0" * 64
    if not hmac.compare_digest(expected, api_key_digest(key)) or api_key is None:
        raise IntegrationsError("invalid_api_key", "Invalid API key.", 401)
    now = timezone.now()
    if api_key.is_revoked(now):
        raise IntegrationsError("api_key_revoked", "This API key has been revoked.", 401)
    if api_key.is_expired(now):
        raise IntegrationsError("api_key_expired", "This API key has expired.", 401)
    # One write a minute at most, not one per request: the pull API is read-heavy.
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(seconds=60):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
