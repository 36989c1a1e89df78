"""Standard Webhooks signing (https://www.standardwebhooks.com): secrets, message ids and the three headers."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after the `whsec_` prefix."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)


def new_message_id(now: float | None = None) -> str:
    """`msg_` + a ULID (48-bit milliseconds + 80 random bits, Crockford base32), so ids sort by time."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_CROCKFORD[index])
    return "msg_" + "".join(reversed(chars))


def signature(secret: str, *, msg_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, msg_id: str, timestamp: int, body: str, secret_list: list[str]) -> dict[str, str]:
    """Headers for one attempt. Several secrets (during a rotation) give space-separated signatures, per the spec."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secret_list),
    }
