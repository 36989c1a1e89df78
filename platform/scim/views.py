"""The SCIM 2.0 HTTP endpoints under /scim/v2/ (RFC 7644). The bearer token names the organization.

Plain Django views rather than DRF: SCIM has its own media type, error shape and paging, and these endpoints are
for directories, not for the tenant API's OpenAPI schema.
"""
from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from audit.services import AuditWriteError
from config import request_input
from teams.models import Employee, Team

from . import discovery
from .errors import ScimError, not_found
from .filters import parse_filter
from .patch import GROUP_SPEC, USER_SPEC, apply_patch
from .representation import group_document, group_resource, user_document, user_resource
from .selectors import scim_group_get, scim_group_list, scim_groups, scim_user_get, scim_users
from .services import (
    scim_group_create,
    scim_group_delete,
    scim_group_replace,
    scim_token_authenticate,
    scim_user_create,
    scim_user_delete,
    scim_user_replace,
)

MEDIA_TYPE = "application/scim+json"
ACCEPTED_TYPES = (MEDIA_TYPE, "application/json")
USER_FILTERS = {"username": "userName", "externalid": "externalId", "emails.value": "emails.value",
                "emails": "emails.value", "id": "id"}
GROUP_FILTERS = {"displayname": "displayName", "externalid": "externalId", "id": "id"}


def scim_response(body: dict | None, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(b"" if body is None else json.dumps(body), status=status,
                            content_type=MEDIA_TYPE if body is not None else None)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(error: ScimError) -> HttpResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'} if error.status == 401 else None
    return scim_response(error.body(), error.status, headers)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2")


def _token_from(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if not header:
        return None, False
    if scheme.lower() != "bearer" or not secret.strip():
        return None, True
    return scim_token_authenticate(secret.strip()), True


def scim_view(methods: tuple[str, ...], *, public: bool = False):
    """Method check, bearer authentication, JSON parsing and SCIM errors for one endpoint."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise ScimError(405, _("%(method)s is not allowed here.") % {"method": request.method})
                token, presented = _token_from(request)
                if token is None and (presented or not public):
                    raise ScimError(401, _("A valid SCIM bearer token is required (Authorization: Bearer <token>)."))
                _check_query(request)
                request.scim_token = token
                request.organization = token.organization if token else None
                request.scim_body = _body(request) if request.method in ("POST", "PUT", "PATCH") else None
                return view(request, *args, **kwargs)
            except ScimError as error:
                response = error_response(error)
                if error.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response
            except AuditWriteError as error:  # the change was rolled back with its event: the client may retry
                return error_response(ScimError(error.status, error.message))

        return wrapper

    return decorate


def _body(request: HttpRequest):
    content_type = request.content_type or ""
    try:
        body = request.body
    except RequestDataTooBig:
        raise ScimError(413, _("The request body is too large.")) from None
    if body and content_type not in ACCEPTED_TYPES:
        raise ScimError(415, _("Send JSON as application/scim+json (or application/json)."))
    if not body:
        return {}
    try:
        return request_input.loads(body)
    except request_input.InputRefused as refused:
        # Too deep is a syntax problem; a NUL character is a value no attribute can hold.
        raise ScimError(400, refused.message,
                        "invalidSyntax" if refused.code == "json_too_deep" else "invalidValue") from None
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, _("The request body is not valid JSON."), "invalidSyntax") from None


def _check_query(request: HttpRequest) -> None:
    """A NUL character in a query parameter is refused here, before a filter could carry it to PostgreSQL."""
    for key, values in request.GET.lists():
        for text in (key, *values):
            try:
                request_input.check_text(text, request_input.field_path(key))
            except request_input.InputRefused as refused:
                raise ScimError(400, refused.message, "invalidValue") from None


# Discovery ------------------------------------------------------------------------------------------------------


@scim_view(("GET",), public=True)
def service_provider_config(request):
    return scim_response(discovery.service_provider_config(base_url(request)))


@scim_view(("GET",), public=True)
def schema_list(request):
    return scim_response(_list_body(discovery.schemas(base_url(request))))


@scim_view(("GET",), public=True)
def schema_detail(request, schema_id: str):
    schema = discovery.schema(base_url(request), schema_id)
    if schema is None:
        raise not_found(_("No schema %(id)s.") % {"id": schema_id})
    return scim_response(schema)


@scim_view(("GET",), public=True)
def resource_type_list(request):
    return scim_response(_list_body(discovery.resource_types(base_url(request))))


@scim_view(("GET",), public=True)
def resource_type_detail(request, resource_type_id: str):
    found = next((rt for rt in discovery.resource_types(base_url(request)) if rt["id"] == resource_type_id), None)
    if found is None:
        raise not_found(_("No resource type %(id)s.") % {"id": resource_type_id})
    return scim_response(found)


def _list_body(resources: list[dict], total: int | None = None, start: int = 1) -> dict:
    return {"schemas": [discovery.LIST_RESPONSE], "totalResults": len(resources) if total is None else total,
            "startIndex": start, "itemsPerPage": len(resources), "Resources": resources}


@scim_view(("GET", "POST", "PUT", "PATCH", "DELETE"), public=True)
def unknown(request, rest: str = ""):
    raise not_found(_("There is no SCIM endpoint at this URL."))


@scim_view(("POST",))
def root_search(request):
    """POST /.search over users and groups (RFC 7644 §3.4.3): users first, then groups, paged as one list.

    A filter applies to the resource types that have its attributes (userName only matches users); a filter no
    type understands is 400 invalidFilter.
    """
    url = base_url(request)
    params = _params(request)
    organization = request.organization
    kinds = [(scim_users(organization=organization), USER_FILTERS, USER_LOOKUPS, lambda e: user_resource(e, url),
              discovery.USER_SCHEMA),
             (scim_groups(organization=organization), GROUP_FILTERS, GROUP_LOOKUPS, lambda t: group_resource(t, url),
              discovery.GROUP_SCHEMA)]
    querysets, last_error = [], None
    for queryset, allowed, lookups, render, schema in kinds:
        try:
            querysets.append((_filtered(queryset, params, allowed, lookups), render, schema))
        except ScimError as error:
            last_error = error
    if not querysets:
        raise last_error
    start, count = _page(params)
    total, skip, resources = 0, start - 1, []
    for queryset, render, schema in querysets:
        size = queryset.count()
        total += size
        take = count - len(resources)
        if take > 0 and skip < size:
            page = queryset.order_by("id")[skip:skip + take]
            resources += [_project(render(obj), params["attributes"], params["excludedAttributes"], schema)
                          for obj in page]
        skip = max(0, skip - size)
    return scim_response(_list_body(resources, total=total, start=start))


# Query parameters ---------------------------------------------------------------------------------------------


def _int_param(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 in a JSON body is infinity
        raise ScimError(400, _("%(name)s must be a whole number.") % {"name": name}, "invalidValue") from None


def _names(raw) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _project(resource: dict, attributes: list[str], excluded: list[str], schema: str) -> dict:
    """Apply `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5); id, schemas and meta.resourceType stay."""

    def split(path: str) -> tuple[str, str | None, str | None]:
        urn = None
        for candidate in (discovery.ENTERPRISE_SCHEMA, schema):
            if path.lower().startswith(candidate.lower() + ":"):
                urn, path = candidate, path[len(candidate) + 1:]
                break
        top, _sep, sub = path.partition(".")
        return (urn if urn != schema else None), top.lower(), sub.lower() or None

    def pick(container: dict, top: str, sub: str | None, into: dict) -> None:
        key = next((k for k in container if k.lower() == top), None)
        if key is None:
            return
        if sub and isinstance(container[key], dict):
            value = {k: v for k, v in container[key].items() if k.lower() == sub}
            if value:
                into.setdefault(key, {}).update(value)
        elif sub and isinstance(container[key], list):
            into[key] = [{k: v for k, v in item.items() if k.lower() == sub} for item in container[key]]
        else:
            into[key] = container[key]

    if attributes:
        result = {"schemas": resource["schemas"], "id": resource["id"]}
        for path in attributes:
            urn, top, sub = split(path)
            if urn:
                if urn in resource:
                    pick(resource[urn], top, sub, result.setdefault(urn, {}))
            else:
                pick(resource, top, sub, result)
        return result
    result = json.loads(json.dumps(resource))
    for path in excluded:
        urn, top, sub = split(path)
        container = result.get(urn, {}) if urn else result
        key = next((k for k in container if k.lower() == top), None)
        if key is None or key in ("id", "schemas"):
            continue
        if sub and isinstance(container[key], dict):
            container[key] = {k: v for k, v in container[key].items() if k.lower() != sub}
        elif sub and isinstance(container[key], list):
            container[key] = [{k: v for k, v in item.items() if k.lower() != sub} for item in container[key]]
        else:
            del container[key]
    return result


def _params(request) -> dict:
    """Query parameters from the URL, or from the body of a POST /.search (RFC 7644 §3.4.3)."""
    if request.method == "POST":
        body = request.scim_body if isinstance(request.scim_body, dict) else {}
        return {"filter": body.get("filter"), "startIndex": body.get("startIndex"), "count": body.get("count"),
                "attributes": _names(body.get("attributes")),
                "excludedAttributes": _names(body.get("excludedAttributes"))}
    return {"filter": request.GET.get("filter"), "startIndex": request.GET.get("startIndex"),
            "count": request.GET.get("count"), "attributes": _names(request.GET.get("attributes")),
            "excludedAttributes": _names(request.GET.get("excludedAttributes"))}


def _filtered(queryset, params: dict, allowed_filters: dict, lookups: dict):
    if params["filter"]:
        for key, value in parse_filter(str(params["filter"]), allowed_filters):
            queryset = queryset.filter(lookups[key](value))
    return queryset


def _page(params: dict) -> tuple[int, int]:
    """(startIndex, count): startIndex below 1 means 1, count is capped at SCIM_MAX_RESULTS (RFC 7644 §3.4.2.4)."""
    start = max(1, _int_param(params, "startIndex", 1))
    return start, min(max(0, _int_param(params, "count", settings.SCIM_DEFAULT_COUNT)), settings.SCIM_MAX_RESULTS)


def _listing(request, queryset, allowed_filters: dict, lookups: dict, render, schema: str) -> HttpResponse:
    params = _params(request)
    queryset = _filtered(queryset, params, allowed_filters, lookups)
    start, count = _page(params)
    total = queryset.count()
    # Past the end nothing is fetched: an offset beyond PostgreSQL's bigint (startIndex=10**20) used to be a 500.
    page = list(queryset.order_by("id")[start - 1:start - 1 + count]) if start <= total else []
    resources = [_project(render(obj), params["attributes"], params["excludedAttributes"], schema) for obj in page]
    return scim_response(_list_body(resources, total=total, start=start))


def _etag_checks(request, resource: dict) -> HttpResponse | None:
    version = resource["meta"]["version"]
    if_match = request.headers.get("If-Match")
    if if_match and request.method in ("PUT", "PATCH", "DELETE"):
        if if_match.strip() != "*" and version not in [v.strip() for v in if_match.split(",")]:
            raise ScimError(412, _("The resource changed since you read it (its version is %(v)s).") % {"v": version})
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and request.method == "GET" and version in [v.strip() for v in if_none_match.split(",")]:
        return scim_response(None, 304, {"ETag": version})
    return None


def _single(request, resource: dict, status: int = 200) -> HttpResponse:
    params = _params(request) if request.method == "GET" else {"attributes": [], "excludedAttributes": []}
    body = _project(resource, params["attributes"], params["excludedAttributes"], resource["schemas"][0])
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(body, status, headers)


# Users --------------------------------------------------------------------------------------------------------

def _id_lookup(value) -> Q:
    # "²".isdigit() is true and 10**20 overflows bigint: an id that can't exist finds nobody.
    pk = request_input.ascii_id(value)
    return Q(pk=pk) if pk is not None else Q(pk__in=[])


USER_LOOKUPS = {
    "userName": lambda v: Q(scim__user_name__iexact=v) | Q(scim__isnull=True, email__iexact=v),
    "externalId": lambda v: Q(external_id=v),
    "emails.value": lambda v: Q(email__iexact=v),
    "id": _id_lookup,
}


def _user(request, user_id: str) -> Employee:
    employee = scim_user_get(organization=request.organization, pk=request_input.ascii_id(user_id))
    if employee is None:
        raise not_found(_("No user %(id)s.") % {"id": user_id})
    return employee


@scim_view(("GET", "POST"))
def users(request):
    if request.method == "POST":
        employee = scim_user_create(organization=request.organization, document=_writable(request.scim_body),
                                    invited_by=request.scim_token.created_by)
        return _single(request, user_resource(_user(request, str(employee.pk)), base_url(request)), 201)
    return _user_list(request)


@scim_view(("POST",))
def users_search(request):
    return _user_list(request)


def _user_list(request):
    url = base_url(request)
    users = scim_users(organization=request.organization)
    return _listing(request, users, USER_FILTERS, USER_LOOKUPS, lambda e: user_resource(e, url), discovery.USER_SCHEMA)


@scim_view(("GET", "PUT", "PATCH", "DELETE"))
def user_detail(request, user_id: str):
    employee = _user(request, user_id)
    url = base_url(request)
    not_modified = _etag_checks(request, user_resource(employee, url))
    if not_modified:
        return not_modified
    invited_by = request.scim_token.created_by
    if request.method == "DELETE":
        scim_user_delete(employee=employee)
        return scim_response(None, 204)
    if request.method == "PUT":
        scim_user_replace(employee=employee, document=_writable(request.scim_body), invited_by=invited_by)
    elif request.method == "PATCH":
        document = apply_patch(user_document(employee), request.scim_body, schema=discovery.USER_SCHEMA,
                               spec=USER_SPEC, current={"id": str(employee.pk)})
        scim_user_replace(employee=employee, document=document, invited_by=invited_by)
    return _single(request, user_resource(_user(request, user_id), url))


def _writable(body) -> dict:
    if not isinstance(body, dict):
        raise ScimError(400, _("The body must be a JSON object."), "invalidSyntax")
    # Read-only attributes in a PUT or POST are ignored (RFC 7644 §3.5.1).
    return {k: v for k, v in body.items() if k not in ("id", "meta", "groups", "schemas")}


# Groups -------------------------------------------------------------------------------------------------------

GROUP_LOOKUPS = {
    "displayName": lambda v: Q(name__iexact=v),
    "externalId": lambda v: Q(scim__external_id=v) & ~Q(scim__external_id=""),
    "id": _id_lookup,
}


def _group(request, group_id: str) -> Team:
    team = scim_group_get(organization=request.organization, pk=request_input.ascii_id(group_id))
    if team is None:
        raise not_found(_("No group %(id)s.") % {"id": group_id})
    return team


@scim_view(("GET", "POST"))
def groups(request):
    if request.method == "POST":
        team = scim_group_create(organization=request.organization, document=_writable(request.scim_body))
        return _single(request, group_resource(_group(request, str(team.pk)), base_url(request)), 201)
    return _group_list(request)


@scim_view(("POST",))
def groups_search(request):
    return _group_list(request)


def _group_list(request):
    url = base_url(request)
    groups = scim_group_list(organization=request.organization)
    return _listing(request, groups, GROUP_FILTERS, GROUP_LOOKUPS, lambda t: group_resource(t, url),
                    discovery.GROUP_SCHEMA)


@scim_view(("GET", "PUT", "PATCH", "DELETE"))
def group_detail(request, group_id: str):
    team = _group(request, group_id)
    url = base_url(request)
    not_modified = _etag_checks(request, group_resource(team, url))
    if not_modified:
        return not_modified
    if request.method == "DELETE":
        scim_group_delete(team=team)
        return scim_response(None, 204)
    if request.method == "PUT":
        scim_group_replace(team=team, document=_writable(request.scim_body))
    elif request.method == "PATCH":
        document = apply_patch(group_document(team, url), request.scim_body, schema=discovery.GROUP_SCHEMA,
                               spec=GROUP_SPEC, current={"id": str(team.pk)})
        scim_group_replace(team=team, document=document)
    return _single(request, group_resource(_group(request, group_id), url))
