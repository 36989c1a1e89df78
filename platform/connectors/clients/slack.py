"""Slack: users.setPhoto / users.deletePhoto with the employee's own user token, and the OAuth v2 exchange that gives
us that token.

Contract: docs.slack.dev/reference/methods/users.setPhoto (POST multipart/form-data, field `image`, user scope
users.profile:write, 512-1024 px; errors bad_image, too_large, too_many_frames, invalid_auth, not_authed, ...),
docs.slack.dev/reference/methods/users.deletePhoto (POST, same scope and token, no arguments),
docs.slack.dev/apis/web-api/rate-limits (HTTP 429 with Retry-After), docs.slack.dev/authentication/installing-with-oauth
and /reference/methods/oauth.v2.access (authed_user.access_token is the user token). Slack answers HTTP 200 with
{"ok": false, "error": "..."} for most errors.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from .base import (
    BAD_IMAGE,
    CREDENTIALS,
    INVALID,
    RATE_LIMITED,
    TOO_LARGE,
    UNAVAILABLE,
    Image,
    PushError,
    PushResult,
    base_url,
    check_response,
    retry_after_seconds,
    send,
)

LABEL = "Slack"
USER_SCOPE = "users.profile:write"
# Slack's error codes, by what they mean for us.
CREDENTIAL_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                     "not_allowed_token_type", "missing_scope", "no_permission", "access_denied"}
IMAGE_ERRORS = {"bad_image", "too_many_frames"}
MESSAGES = {
    "invalid_auth": "the employee's Slack token is not valid any more; they need to connect Slack again",
    "not_authed": "no Slack token was sent",
    "token_revoked": "the employee revoked our access in Slack; they need to connect Slack again",
    "too_large": "Slack refused the photo as too large (at most 1024x1024 pixels)",
    "bad_image": "Slack could not process the photo (it takes JPEG, GIF or PNG)",
    "ratelimited": "Slack asked us to slow down",
}


def _raise_for_slack(response) -> dict:
    if response.status_code == 429:
        raise PushError(f"{MESSAGES['ratelimited']} (HTTP 429)", reason=RATE_LIMITED, status_code=429,
                        retry_after=retry_after_seconds(response))
    check_response(response, LABEL)
    try:
        body = response.json()
    except ValueError:
        raise PushError(f"{LABEL} answered something that is not JSON", reason=UNAVAILABLE,
                        status_code=response.status_code) from None
    if body.get("ok"):
        return body
    error = str(body.get("error") or "unknown_error")
    detail = MESSAGES.get(error, error)
    if error in CREDENTIAL_ERRORS:
        raise PushError(f"credentials rejected by {LABEL}: {detail} ({error})", reason=CREDENTIALS,
                        status_code=response.status_code)
    if error == "too_large":
        raise PushError(detail, reason=TOO_LARGE, status_code=response.status_code)
    if error in IMAGE_ERRORS:
        raise PushError(f"{detail} ({error})", reason=BAD_IMAGE, status_code=response.status_code)
    if error == "ratelimited":
        raise PushError(MESSAGES["ratelimited"], reason=RATE_LIMITED, status_code=response.status_code,
                        retry_after=retry_after_seconds(response))
    if error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        raise PushError(f"{LABEL} had a problem: {error}", reason=UNAVAILABLE, status_code=response.status_code)
    raise PushError(f"{LABEL} refused the photo: {error}", reason=INVALID, status_code=response.status_code)


class SlackClient:
    def __init__(self, *, token: str, base: str = ""):
        self.token = token
        self.api = base_url(base, settings.SLACK_API_BASE)

    def put_photo(self, image: Image) -> PushResult:
        extension = "png" if image.content_type == "image/png" else "jpg"
        response = send("POST", f"{self.api}/api/users.setPhoto", LABEL,
                        headers={"Authorization": f"Bearer {self.token}"},
                        files={"image": (f"headshot.{extension}", image.data, image.content_type)})
        _raise_for_slack(response)
        return PushResult()

    def delete_photo(self) -> None:
        response = send("POST", f"{self.api}/api/users.deletePhoto", LABEL,
                        headers={"Authorization": f"Bearer {self.token}"})
        _raise_for_slack(response)


def authorize_url(*, state: str, redirect_uri: str) -> str:
    query = urlencode({"client_id": settings.SLACK_CLIENT_ID, "user_scope": USER_SCOPE, "state": state,
                       "redirect_uri": redirect_uri})
    return f"{base_url('', settings.SLACK_OAUTH_BASE)}/oauth/v2/authorize?{query}"


def exchange_code(*, code: str, redirect_uri: str) -> dict:
    """oauth.v2.access: the code for the installing user's token; returns Slack's whole answer."""
    response = send("POST", f"{base_url('', settings.SLACK_API_BASE)}/api/oauth.v2.access", LABEL,
                    auth=(settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET),
                    data={"code": code, "redirect_uri": redirect_uri})
    return _raise_for_slack(response)
