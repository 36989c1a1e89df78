"""The HRIS/directory pull API: an organization's API key lists its people and fetches their approved headshots."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import record as audit_record
from teams.labels import TRAINED_ALGORITHMIC_MEDIA
from teams.rendering import delivery_etag, delivery_etag_function, render_headshot
from tenancy.api import DomainError

from .auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasApiKeyScope
from .delivery import DESTINATION_PRESETS
from .models import ApiKeyScope
from .selectors import BadCursor, Cursor, directory_headshot, directory_page

MIN_SIZE, MAX_SIZE = 16, 4096
FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


class DirectoryEndpoint(APIView):
    """Base of the pull API: API-key callers only, one organization (the key's), the key's scopes, one rate per key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKeyScope]
    throttle_classes = [ApiKeyRateThrottle]
    required_scope: str = ""

    @property
    def organization(self):
        return self.request.auth.organization


class DirectoryHeadshotOut(serializers.Serializer):
    id = serializers.IntegerField()
    approved_at = serializers.DateTimeField()
    etag = serializers.CharField(help_text="The ETag of the default rendition at `url` (JPEG, master size).")
    url = serializers.URLField(allow_null=True, help_text="null when the employee has no external_id.")
    digital_source_type = serializers.CharField(
        help_text="IPTC digital source type: the image is AI-generated (also embedded in the image's XMP).")


class DirectoryEmployeeOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    email = serializers.EmailField()
    name = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()
    updated_at = serializers.DateTimeField(help_text="The later of the employee's last change and last approval.")
    headshot = DirectoryHeadshotOut(allow_null=True)


class DirectoryPageOut(serializers.Serializer):
    results = DirectoryEmployeeOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)


ERRORS = {400: OpenApiResponse(description="Bad parameter (the message says which)."),
          401: OpenApiResponse(description="Missing, unknown, revoked or expired API key."),
          403: OpenApiResponse(description="The key lacks the scope this endpoint needs."),
          429: OpenApiResponse(description="Over the key's rate limit; see Retry-After.")}


def _parse_since(raw: str):
    # An unencoded "+01:00" arrives as " 01:00": read it as the offset the client meant.
    raw = re.sub(r"(\d\d:\d\d(:\d\d(\.\d+)?)?) (\d\d(:?\d\d)?)$", r"\1+\4", raw.strip())
    try:
        moment = parse_datetime(raw) if raw else None
        if moment is None and raw and (day := parse_date(raw)) is not None:
            moment = datetime.combine(day, time.min, tzinfo=UTC)
        if moment is not None and moment.tzinfo is None:  # a time without a zone is read as UTC, the API's zone
            moment = moment.replace(tzinfo=UTC)
        # In UTC: PostgreSQL refuses offsets beyond +-15:59 (a 500, found by schemathesis) that Python accepts.
        moment = moment.astimezone(UTC) if moment is not None else None
    except (ValueError, OverflowError):  # well formed but impossible (month 13), or past year 9999 in UTC
        moment = None
    if moment is None:
        raise DomainError(_("updated_since must be an ISO 8601 date or time, e.g. 2026-01-31T09:00:00Z; got %(v)r.")
                          % {"v": raw}, code="invalid_updated_since")
    return moment


def _parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return settings.DIRECTORY_API_PAGE_SIZE
    top = settings.DIRECTORY_API_MAX_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= top:
        raise DomainError(_("limit must be a whole number from 1 to %(top)s.") % {"top": top}, code="invalid_limit")
    return int(raw)


_PLACEHOLDER = "external-id"


def headshot_url_builder(request):
    """external_id -> the absolute headshot URL; reverse() once per page, not once per row (it shows under load)."""
    template = request.build_absolute_uri(reverse("integrations:directory-employee-headshot",
                                                  kwargs={"external_id": _PLACEHOLDER}))
    head, tail = template.rsplit(_PLACEHOLDER, 1)
    # The same characters reverse() leaves unquoted in a path.
    return lambda external_id: head + quote(external_id, safe="!$&'()*+,;=/~:@") + tail


class DirectoryEmployeeListApi(DirectoryEndpoint):
    required_scope = ApiKeyScope.EMPLOYEES_READ

    @extend_schema(
        operation_id="directory_employees_list",
        parameters=[
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description=(
                "Only people changed or given a newly approved headshot at or after this ISO 8601 time (UTC when no "
                "zone is given); such a listing also holds people deactivated since then, with active=false.")),
            OpenApiParameter("cursor", str, description="next_cursor of the previous page."),
            OpenApiParameter("limit", int, description="Page size (default 100)."),
        ],
        responses={200: DirectoryPageOut, **ERRORS})
    def get(self, request):
        """Employees of the key's organization with their approved headshot, ordered by (updated_at, id)."""
        params = request.query_params
        since = _parse_since(params["updated_since"]) if "updated_since" in params else None
        try:
            after = Cursor.decode(params["cursor"]) if params.get("cursor") else None
        except BadCursor as exc:
            raise DomainError(str(exc), code="invalid_cursor") from None
        limit = _parse_limit(params.get("limit"))
        employees, headshots, next_cursor = directory_page(organization=self.organization, updated_since=since,
                                                           after=after, limit=limit)
        headshot_url = headshot_url_builder(request)
        results = []
        etag = delivery_etag_function()
        for employee in employees:
            headshot = headshots.get(employee.id)
            results.append({
                "id": employee.id, "external_id": employee.external_id, "email": employee.email,
                "name": employee.name, "team": employee.team,
                "active": employee.active, "updated_at": employee.updated,
                "headshot": None if headshot is None else {
                    "id": headshot.etag_source.pk, "approved_at": headshot.approved_at,
                    "etag": etag(headshot.etag_source),
                    "url": headshot_url(employee.external_id) if employee.external_id else None,
                    "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
                },
            })
        following = None
        if next_cursor is not None:
            query = {k: v for k, v in params.items() if k != "cursor"} | {"cursor": next_cursor.encode()}
            following = request.build_absolute_uri(request.path) + "?" + urlencode(query)
        # Plain data in DirectoryPageOut's shape (the serializer documents it; running it per row costs ~1 ms/row).
        return Response({"results": results, "next_cursor": next_cursor.encode() if next_cursor else None,
                         "next": following})


def _render_options(params) -> dict:
    """The render_headshot options from ?preset=&size=&format= (a preset's values, then size/format over them)."""
    options: dict = {"size": None, "square": False, "fmt": "JPEG", "max_bytes": None, "min_size": None}
    preset_name = params.get("preset")
    if preset_name:
        preset = DESTINATION_PRESETS.get(preset_name)
        if preset is None:
            raise DomainError(_("Unknown preset %(p)r; choose one of %(all)s.")
                              % {"p": preset_name, "all": ", ".join(DESTINATION_PRESETS)}, code="invalid_preset")
        options.update(preset.options())
    if params.get("size") not in (None, ""):
        raw = params["size"]
        if not (raw.isascii() and raw.isdigit()) or not MIN_SIZE <= int(raw) <= MAX_SIZE:
            raise DomainError(_("size must be a whole number of pixels from %(lo)s to %(hi)s.")
                              % {"lo": MIN_SIZE, "hi": MAX_SIZE}, code="invalid_size")
        options["size"] = int(raw)
    if params.get("format") not in (None, ""):
        fmt = FORMATS.get(params["format"].lower())
        if fmt is None:
            raise DomainError(_("format must be one of jpeg, png, webp."), code="invalid_format")
        options["fmt"] = fmt
    return options


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison, as RFC 9110 asks for If-None-Match: W/"x" matches "x" (and signed images' ETags are weak).
    target = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == target for tag in header.split(","))


class ImageContentNegotiation(BaseContentNegotiation):
    """Errors are JSON whatever the client accepts (`Accept: image/*`), and ?format= names the image format."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DirectoryEmployeeHeadshotApi(DirectoryEndpoint):
    required_scope = ApiKeyScope.HEADSHOTS_READ
    content_negotiation_class = ImageContentNegotiation

    @extend_schema(
        operation_id="directory_employee_headshot",
        parameters=[
            OpenApiParameter("external_id", str, OpenApiParameter.PATH, description="The HRIS's id of the employee."),
            OpenApiParameter("size", int, description=f"Long edge (side when the preset is square), {MIN_SIZE}-"
                                                      f"{MAX_SIZE} px; never upscaled beyond the master."),
            OpenApiParameter("format", str, enum=["jpeg", "png", "webp"], description="Default jpeg."),
            OpenApiParameter("preset", str, enum=list(DESTINATION_PRESETS),
                             description="A destination's size/crop/format/byte limit; size and format override it."),
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER,
                             description="A previous ETag: 304 if unchanged."),
        ],
        responses={(200, "image/*"): OpenApiTypes.BINARY, 304: OpenApiResponse(description="Not modified."),
                   404: OpenApiResponse(description="No such active employee, or no approved headshot."),
                   422: OpenApiResponse(description="The headshot is too small for the preset."), **ERRORS})
    def get(self, request, external_id: str):
        """The employee's approved headshot, rendered for the asked size/format/preset and labelled as AI-generated."""
        options = _render_options(request.query_params)
        # Another organization's people, deactivated people and people without an approved photo all look the same.
        headshot = directory_headshot(organization=self.organization, external_id=external_id)
        if headshot is None:
            raise Http404(_("No approved headshot for this employee."))
        etag = delivery_etag(headshot, **options)
        headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate", "Vary": "Authorization"}
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            return HttpResponse(status=304, headers=headers)
        try:
            delivered = render_headshot(headshot, **options)
        except ValueError as exc:
            raise DomainError(str(exc), code="cannot_render", status_code=422) from None
        audit_record(action="headshot.viewed", object=headshot, request=request, status_code=200)
        return HttpResponse(delivered.data, content_type=delivered.content_type, headers=headers)
