"""Request checks that hold for every API endpoint before any view runs."""
from __future__ import annotations

from django.http import JsonResponse

from .api_errors import refused_body
from .request_input import field_path, nul_refused

API_PREFIX = "/api/"


class ApiInputMiddleware:
    """Refuse, under /api/, what PostgreSQL can't compare and used to answer 500 from deep inside a view or DRF's
    token lookup: a NUL character in a query parameter (400 naming it; SCIM checks its own, in scim/views.py), and
    an Authorization header with a NUL or another control character (401: no token or key holds one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return JsonResponse(refused_body(nul_refused(field_path(key))), status=400)
            authorization = request.META.get("HTTP_AUTHORIZATION", "")
            if not (authorization.isascii() and authorization.isprintable()):
                response = JsonResponse({"detail": "Invalid token: the Authorization header holds characters no "
                                                   "token has.", "code": "authentication_failed"}, status=401)
                response["WWW-Authenticate"] = "Token"
                return response
        return self.get_response(request)
