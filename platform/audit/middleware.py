"""Records every state-changing HTTP request that reached a view, and reads of selfie images in the portal.

The event names the route (its URL name, never the raw path, which can hold emails or tokens), the ids among its
URL parameters, the status code, the caller, the organization and the IP. Each request gets an id (the caller's
X-Request-ID when it is a plain token) that every event raised while serving it carries, echoed in the response.
"""
from __future__ import annotations

import logging
import re
import uuid

from accounts.models import User
from tenancy.models import Organization
from tenancy.selectors import membership_for

from .services import current_request, record, request_id_from

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# GET routes that serve selfie images (biometric data): URL name -> URL parameter holding the selfie id.
SELFIE_IMAGE_ROUTES = {
    "portal:selfie-thumbnail": "selfie_id",  # an employee's own selfie
    "portal:admin-selfie-image": "selfie_id",  # a reviewer looking at the source selfie
}

# URL parameters that are kept in the event as they are: ids, and words from a fixed set (e.g. approve/reject).
_ID_VALUE = re.compile(r"^(\d{1,20}|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})$")
_WORD_PARAMETERS = frozenset({"action"})
_WORD_VALUE = re.compile(r"^[a-z][a-z_-]{0,31}$")
_NEVER_KEPT = frozenset({"token", "org_slug", "rest", "external_id"})


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.audit_request_id = (request_id_from(request.headers.get("X-Request-ID", ""))
                                    or uuid.uuid4().hex)
        request.audit_view = None
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        match = request.audit_view
        try:
            if match is not None and request.method not in SAFE_METHODS:
                self._record_change(request, response, match)
            elif match is not None and match.view_name in SELFIE_IMAGE_ROUTES and response.status_code == 200:
                record(action="selfie.viewed", request=request, organization=_organization(request, match),
                       object=("selfie", match.kwargs.get(SELFIE_IMAGE_ROUTES[match.view_name])),
                       status_code=response.status_code, detail={"route": match.view_name})
        except Exception:  # the answer has been made; a failing audit write must not turn it into a 500
            log.exception("audit: could not record %s %s", request.method, getattr(match, "view_name", ""))
        if not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = request.audit_request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Only requests that got this far (past CSRF and URL resolution) are "reached a view".
        request.audit_view = request.resolver_match

    def _record_change(self, request, response, match) -> None:
        ids = url_ids(match.kwargs)
        object_type, object_id = "", ""
        id_keys = [key for key in ids if key.endswith("_id")]
        if id_keys:
            object_type, object_id = id_keys[-1].removesuffix("_id"), ids[id_keys[-1]]
        record(action=f"http.{request.method.lower()}", request=request, organization=_organization(request, match),
               object=(object_type, object_id) if object_type else None, status_code=response.status_code,
               detail={"route": match.view_name, "method": request.method, "url_ids": ids})


def url_ids(kwargs: dict) -> dict:
    """The URL parameters safe to keep: numbers, UUIDs and fixed words; never slugs, tokens or external ids."""
    kept = {}
    for key, value in kwargs.items():
        if key in _NEVER_KEPT:
            continue
        if isinstance(value, int) or (isinstance(value, str) and _ID_VALUE.match(value)):
            kept[key] = str(value)
        elif key in _WORD_PARAMETERS and isinstance(value, str) and _WORD_VALUE.match(value):
            kept[key] = value
    return kept


def _organization(request, match):
    """The organization the request acted in: what the view resolved, else the URL's org_slug when the caller is
    anonymous (a refused attempt on that organization) or one of its members. An outsider's attempt stays
    site-level, so one organization's admins never see who from elsewhere knocked."""
    resolved = getattr(request, "organization", None)
    if isinstance(resolved, Organization):
        return resolved
    slug = match.kwargs.get("org_slug")
    if not slug:
        return None
    user = getattr(request, "user", None)
    if isinstance(user, User):  # a signed-in person (an API key's principal is not one)
        membership = membership_for(user, slug)
        return membership.organization if membership else None
    if getattr(request, "auth", None) is not None or getattr(request, "scim_token", None) is not None:
        return None  # API keys and SCIM tokens carry their own organization (services._actor)
    return Organization.objects.filter(slug=slug).first()
