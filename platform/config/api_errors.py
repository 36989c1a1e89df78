"""One error shape for the whole API: {"detail": str, "code": str, "errors": {...}} and never a bare 500 for bad
input."""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ServiceError
from .request_input import InputRefused

API_PREFIX = "/api/"


def refused_body(exc: InputRefused) -> dict:
    """Input refused by config/request_input.py: the field it names goes in `errors`, as a serializer's would."""
    body = {"detail": exc.message, "code": exc.code}
    if exc.path:
        body["errors"] = {exc.path: [exc.message]}
    return body


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, ServiceError):  # a domain rule a view didn't translate itself: still a clear 4xx, never a 500
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
    if isinstance(exc, InputRefused):  # raised by the parsers (config/parsers.py) or a view reading embedded JSON
        return Response(refused_body(exc), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and len(data) <= 2:
        body = {"detail": str(data["detail"]), "code": getattr(data["detail"], "code", "error")}
        body.update({k: v for k, v in data.items() if k != "detail"})
    else:
        body = {"detail": "The request is invalid.", "code": "invalid", "errors": data}
    response.data = body
    return response


def bad_request(request, exception):
    """handler400 (Django's own refusals, e.g. a body past DATA_UPLOAD_MAX_MEMORY_SIZE outside DRF's parsers): JSON
    under /api/."""
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
            return JsonResponse({"detail": "The request body is too large.", "code": "request_too_large"}, status=413)
        return JsonResponse({"detail": "The request is invalid.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    """handler404: under /api/ a URL no route matches (a path id that isn't a number: /employees/abc) answers the
    API's JSON 404 like every other not-found, not the site's HTML page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)
