"""One error shape for the whole API: {"detail": str, "code": str, "errors": {...}} and never a bare 500 for bad input."""
from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ServiceError


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, ServiceError):  # a domain rule a view didn't translate itself: still a clear 4xx, never a 500
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status)
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
