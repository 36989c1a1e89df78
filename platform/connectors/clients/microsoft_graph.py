"""Microsoft Graph: client-credentials token, then PUT /users/{id}/photo/$value with the raw JPEG (at most 4 MB).

Contract: learn.microsoft.com/graph/api/profilephoto-update (PUT or PATCH, "limited to 4 MB", application
permission ProfilePhoto.ReadWrite.All or User.ReadWrite.All), /graph/api/profilephoto-delete, and
/entra/identity-platform/v2-oauth2-client-creds-grant-flow (token request, scope https://graph.microsoft.com/.default).
"""
from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from .base import (
    CREDENTIALS,
    Image,
    PushError,
    PushResult,
    authorized_send,
    base_url,
    check_response,
    send,
    their_message,
    token_key,
)

LABEL = "Microsoft 365"
SCOPE = "https://graph.microsoft.com/.default"
REQUIRED = ("tenant_id", "client_id", "client_secret")


class GraphClient:
    def __init__(self, *, credentials: dict, base: str = "", auth: str = ""):
        self.credentials = credentials
        self.graph = base_url(base, settings.CONNECTOR_GRAPH_BASE)
        self.login = base_url(auth, settings.CONNECTOR_GRAPH_LOGIN_BASE)
        self._key = token_key(self.login, str(credentials["tenant_id"]), str(credentials["client_id"]),
                              str(credentials["client_secret"]))

    def _fetch_token(self) -> tuple[str, int]:
        tenant = quote(str(self.credentials["tenant_id"]), safe="")
        response = send("POST", f"{self.login}/{tenant}/oauth2/v2.0/token", LABEL, data={
            "client_id": self.credentials["client_id"], "client_secret": self.credentials["client_secret"],
            "scope": SCOPE, "grant_type": "client_credentials"})
        if response.status_code in (400, 401):
            # The identity platform answers a bad client or tenant with 400/401 and an OAuth error body.
            raise PushError(f"credentials rejected by {LABEL}: {their_message(response)}", reason=CREDENTIALS,
                            status_code=response.status_code)
        check_response(response, LABEL)
        body = response.json()
        return body["access_token"], int(body.get("expires_in", 3599))

    def _call(self, method: str, url: str, **kwargs):
        return authorized_send(method, url, LABEL, key=self._key, fetch=self._fetch_token, **kwargs)

    def check(self) -> None:
        """Sign in with the app's credentials (a fresh token, not the cached one): PushError when refused."""
        self._fetch_token()

    def _photo_url(self, user: str) -> str:
        return f"{self.graph}/v1.0/users/{quote(user, safe='@')}/photo/$value"

    def put_photo(self, user: str, image: Image) -> PushResult:
        response = self._call("PUT", self._photo_url(user), data=image.data,
                              headers={"Content-Type": image.content_type})
        check_response(response, LABEL)
        return PushResult(remote_id=user, etag=response.headers.get("ETag", ""))

    def delete_photo(self, user: str) -> None:
        response = self._call("DELETE", self._photo_url(user))
        if response.status_code == 404:
            return  # already gone: what the erasure wanted
        check_response(response, LABEL)
