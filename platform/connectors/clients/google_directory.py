"""Google Workspace directory: a service account's RS256 JWT assertion for a token, then PUT the user's thumbnail photo.

Contract: developers.google.com/identity/protocols/oauth2/service-account ("Preparing to make an authorized API
call": JWT header {"alg":"RS256","typ":"JWT"}, claims iss/sub/scope/aud/exp/iat, exp at most an hour after iat,
POSTed as grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer) and admin/directory/reference/rest/v1/users.photos
(PUT .../users/{userKey}/photos/thumbnail with a UserPhoto whose photoData is web-safe base64; DELETE removes it).
"""
from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from .base import (
    CREDENTIALS,
    RATE_LIMITED,
    Image,
    PushError,
    PushResult,
    authorized_send,
    base_url,
    cached_token,
    check_response,
    retry_after_seconds,
    send,
    their_message,
    token_key,
)

LABEL = "Google Workspace"
SCOPE = "https://www.googleapis.com/auth/admin.directory.user"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REQUIRED = ("service_account", "admin_email")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_service_account(raw) -> dict:
    """The service account's JSON key (as uploaded: a string or an object), checked enough to sign with."""
    info = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(info, dict) or not info.get("client_email") or not info.get("private_key"):
        raise ValueError("the service account key needs client_email and private_key")
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account key must be an RSA private key")
    return info


def jwt_assertion(info: dict, *, subject: str, audience: str, now: int | None = None) -> str:
    now = int(time.time()) if now is None else now
    header = {"alg": "RS256", "typ": "JWT"}
    if info.get("private_key_id"):
        header["kid"] = info["private_key_id"]
    claims = {"iss": info["client_email"], "sub": subject, "scope": SCOPE, "aud": audience, "iat": now,
              "exp": now + 3600}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64url(signature)}"


class GoogleDirectoryClient:
    def __init__(self, *, credentials: dict, base: str = "", auth: str = ""):
        self.info = load_service_account(credentials["service_account"])
        # Domain-wide delegation: the service account acts as this Workspace admin.
        self.subject = credentials["admin_email"]
        self.api = base_url(base, settings.CONNECTOR_GOOGLE_BASE)
        self.token_url = base_url(auth, settings.CONNECTOR_GOOGLE_TOKEN_URL)
        self._key = token_key(self.token_url, self.info["client_email"], self.info["private_key"], self.subject)

    def _fetch_token(self) -> tuple[str, int]:
        assertion = jwt_assertion(self.info, subject=self.subject, audience=self.token_url)
        response = send("POST", self.token_url, LABEL, data={"grant_type": JWT_BEARER, "assertion": assertion})
        if response.status_code in (400, 401, 403):
            # invalid_grant / unauthorized_client: a bad key, a revoked account or no domain-wide delegation.
            raise PushError(f"credentials rejected by {LABEL}: {their_message(response)}", reason=CREDENTIALS,
                            status_code=response.status_code)
        check_response(response, LABEL)
        body = response.json()
        return body["access_token"], int(body.get("expires_in", 3599))

    def token(self) -> str:
        return cached_token(self._key, self._fetch_token)[0]

    def check(self) -> None:
        """Sign in as the service account for the admin (a fresh token): PushError when refused."""
        self._fetch_token()

    def _call(self, method: str, url: str, **kwargs):
        return authorized_send(method, url, LABEL, key=self._key, fetch=self._fetch_token, **kwargs)

    def _photo_url(self, user: str) -> str:
        return f"{self.api}/admin/directory/v1/users/{quote(user, safe='@')}/photos/thumbnail"

    def _check(self, response) -> None:
        if response.status_code == 403 and _reason(response) in ("rateLimitExceeded", "userRateLimitExceeded"):
            # Google reports some quota limits as 403 with a rate-limit reason: that is "slow down", not "forbidden".
            raise PushError(f"{LABEL} asked us to slow down: {their_message(response)}", reason=RATE_LIMITED,
                            status_code=403, retry_after=retry_after_seconds(response))
        check_response(response, LABEL)

    def put_photo(self, user: str, image: Image) -> PushResult:
        body = {"photoData": base64.urlsafe_b64encode(image.data).decode("ascii"),
                "mimeType": image.content_type, "width": image.width, "height": image.height}
        response = self._call("PUT", self._photo_url(user), json=body)
        self._check(response)
        answer = response.json() if response.content else {}
        return PushResult(remote_id=str(answer.get("id", "")), etag=str(answer.get("etag", "")))

    def delete_photo(self, user: str) -> None:
        response = self._call("DELETE", self._photo_url(user))
        if response.status_code == 404:
            return
        self._check(response)


def _reason(response) -> str:
    try:
        errors = response.json()["error"]["errors"]
        return str(errors[0].get("reason", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""
