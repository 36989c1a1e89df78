"""Erasure receipts: what was deleted for a person, when and where, signed so neither side can alter it later.

A receipt keeps no personal data: the person is referred to by a salted SHA-256 of their email, so the
organization can match a request ("erase jane@...") against a receipt without us keeping the address.
Signature: HMAC-SHA256 with a key derived from SECRET_KEY, or Ed25519 when PRIVACY_RECEIPT_SIGNING_KEY is set
(then the receipt also carries the public key, and anyone can check it offline).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tenancy.models import TenantModel

RECEIPT_FORMAT = 1
HMAC_ALG = "HMAC-SHA256"
ED25519_ALG = "Ed25519"
_HMAC_KEY_SALT = "privacy.receipts.ErasureReceipt"


class ErasureReceipt(TenantModel):
    """One erasure. Outlives the person (and their user account); only ids and counts, never names or emails."""

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    employee_ref = models.PositiveBigIntegerField(help_text="id the erased employee had")
    erased_at = models.DateTimeField()
    subject_salt = models.CharField(max_length=32)
    subject_sha256 = models.CharField(max_length=64, help_text="sha256(salt + ':' + lower-case email)")
    # The admin who asked, by id; null when the person erased themselves (their account is gone with them).
    requested_by_ref = models.PositiveBigIntegerField(null=True, blank=True)
    requested_by_subject = models.BooleanField(default=False)
    counts = models.JSONField(default=dict)
    # [{"destination", "outcome": deleted|not_supported|failed, "reason"}]: photos pushed to other systems.
    destinations = models.JSONField(default=list)
    # {"deleted": n, "pending": n}: stored files (selfies, headshots, renditions, export ZIPs).
    files = models.JSONField(default=dict)
    # Storage names still to delete (a storage failure): retried by privacy.erasure.erasure_files_retry().
    pending_files = models.JSONField(default=list, blank=True)
    signed_at = models.DateTimeField()
    signature_alg = models.CharField(max_length=16)
    signature = models.TextField()

    class Meta:
        ordering = ["-erased_at", "-id"]


def subject_hash(email: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{email.strip().lower()}".encode()).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def receipt_matches_email(receipt: ErasureReceipt, email: str) -> bool:
    return hmac.compare_digest(subject_hash(email, receipt.subject_salt), receipt.subject_sha256)


def _iso(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def receipt_document(receipt: ErasureReceipt) -> dict:
    """The signed content (everything but the signature)."""
    return {
        "format": RECEIPT_FORMAT,
        "receipt_id": str(receipt.receipt_id),
        "organization": {"id": receipt.organization_id, "slug": receipt.organization.slug},
        "erased_at": _iso(receipt.erased_at),
        "subject": {"employee_id": receipt.employee_ref, "email_sha256": receipt.subject_sha256,
                    "salt": receipt.subject_salt, "scheme": "sha256(salt + ':' + lower-case email)"},
        "requested_by": {"user_id": receipt.requested_by_ref, "self": receipt.requested_by_subject},
        "counts": receipt.counts,
        "destinations": receipt.destinations,
        "files": receipt.files,
        "signed_at": _iso(receipt.signed_at),
    }


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _ed25519_private_key():
    """The configured Ed25519 key, or None (then receipts are HMAC-signed). A key that can't be read is an error."""
    raw = settings.PRIVACY_RECEIPT_SIGNING_KEY.strip()
    if not raw:
        return None
    if raw.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(raw.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("PRIVACY_RECEIPT_SIGNING_KEY must be an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key_b64(private_key) -> str:
    return _b64(private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _hmac(payload: bytes) -> str:
    return _b64(salted_hmac(_HMAC_KEY_SALT, payload, algorithm="sha256").digest())


def receipt_sign(receipt: ErasureReceipt) -> ErasureReceipt:
    """Stamp and sign the receipt's current content (the caller saves it)."""
    receipt.signed_at = timezone.now().replace(microsecond=0)
    payload = canonical(receipt_document(receipt))
    key = _ed25519_private_key()
    if key is None:
        receipt.signature_alg, receipt.signature = HMAC_ALG, _hmac(payload)
    else:
        receipt.signature_alg, receipt.signature = ED25519_ALG, _b64(key.sign(payload))
    return receipt


def receipt_json(receipt: ErasureReceipt) -> dict:
    """The receipt as handed to the organization: the signed document plus its signature."""
    signature = {"alg": receipt.signature_alg, "value": receipt.signature}
    if receipt.signature_alg == ED25519_ALG:
        key = _ed25519_private_key()
        if key is not None:
            signature["public_key"] = _public_key_b64(key)
    return {**receipt_document(receipt), "id": receipt.pk, "signature": signature}


def verify(receipt_json: dict | str | bytes) -> bool:
    """True when the receipt is exactly as we signed it (with this deployment's key); any change makes it False."""
    try:
        data = json.loads(receipt_json) if isinstance(receipt_json, (str, bytes)) else dict(receipt_json)
        signature = data.pop("signature")
        data.pop("id", None)  # the database row id is a handle, not part of the signed content
        alg, value = signature["alg"], signature["value"]
        payload = canonical(data)
        if alg == HMAC_ALG:
            return hmac.compare_digest(_hmac(payload), value)
        if alg == ED25519_ALG:
            key = _ed25519_private_key()
            if key is None:
                return False
            try:
                key.public_key().verify(_unb64(value), payload)
            except InvalidSignature:
                return False
            return True
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return False
