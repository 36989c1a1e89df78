"""SCIM errors (RFC 7644 §3.12): an HTTP status, an optional scimType and a human detail, in the Error message shape."""
from __future__ import annotations

from .discovery import ERROR


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict:
        body = {"schemas": [ERROR], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def not_found(detail: str) -> ScimError:
    return ScimError(404, detail)
