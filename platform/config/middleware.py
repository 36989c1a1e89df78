"""Request checks that hold for every API endpoint before any view runs."""
from __future__ import annotations

from django.http import JsonResponse

from .api_errors import refused_body
from .request_input import field_path, nul_refused

API_PREFIX = "/api/"


class ApiQueryStringMiddleware:
    """Refuse a NUL character in an API query parameter (name or value) with a 400 naming it: PostgreSQL can't
    compare text with NUL, and a filter that reached it used to answer 500. SCIM checks its own (scim/views.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return JsonResponse(refused_body(nul_refused(field_path(key))), status=400)
        return self.get_response(request)
