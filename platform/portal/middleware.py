"""Content-Security-Policy on every response: scripts and styles only from our own static files, no framing."""
from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        exempt = any(request.path.startswith(prefix) for prefix in settings.CONTENT_SECURITY_POLICY_EXEMPT_PREFIXES)
        # A view that needs a different policy sets its own header; we never overwrite it.
        if not exempt and settings.CONTENT_SECURITY_POLICY and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response
