"""BambooHR: POST the employee photo as multipart field `file`, HTTP Basic with the API key as the user name.

Contract: documentation.bamboohr.com/reference/upload-employee-photo (square, jpg/gif/png, at most 20 MB, API user
needs photo permission), /docs/getting-started (Basic auth: API key as user name, any password, e.g. "x"), and
/docs/planned-changes-to-the-api (throttled requests get 429 + Retry-After since September 2026, 503 before; both are
honoured). BambooHR documents no photo delete.
"""
from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from .base import Image, PushResult, base_url, check_response, send

LABEL = "BambooHR"
REQUIRED = ("company_domain", "api_key")


class BambooHRClient:
    def __init__(self, *, credentials: dict, base: str = ""):
        self.company = str(credentials["company_domain"])
        self.api_key = str(credentials["api_key"])
        self.api = base_url(base, settings.CONNECTOR_BAMBOOHR_BASE)

    def check(self) -> None:
        """One authenticated read (the list of fields, /v1/meta/fields): PushError when it is refused."""
        url = f"{self.api}/api/gateway.php/{quote(self.company, safe='')}/v1/meta/fields"
        check_response(send("GET", url, LABEL, auth=(self.api_key, "x"), headers={"Accept": "application/json"}),
                       LABEL)

    def put_photo(self, employee_id: str, image: Image) -> PushResult:
        url = (f"{self.api}/api/gateway.php/{quote(self.company, safe='')}/v1/employees/"
               f"{quote(str(employee_id), safe='')}/photo")
        extension = "png" if image.content_type == "image/png" else "jpg"
        response = send("POST", url, LABEL, auth=(self.api_key, "x"),
                        files={"file": (f"photo.{extension}", image.data, image.content_type)})
        check_response(response, LABEL)
        return PushResult(remote_id=str(employee_id))
