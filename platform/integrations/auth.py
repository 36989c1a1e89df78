"""DRF pieces for API-key callers: the Bearer authentication, the per-endpoint scope check and the per-key throttle."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions, throttling

from .models import API_KEY_PREFIX, ApiKey
from .services import IntegrationsError, api_key_authenticate


class ApiKeyPrincipal:
    """What `request.user` is for an API-key call: the organization's integration, never a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer hs_live_...`; unknown, revoked or expired keys get 401 with the reason."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None  # DRF answers 401 "Authentication credentials were not provided."
        if header[0].decode("latin-1").lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(
                _("Send the API key as 'Authorization: Bearer %(prefix)s...'.") % {"prefix": API_KEY_PREFIX})
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer <API key>'."))
        try:
            api_key = api_key_authenticate(header[1].decode("latin-1"))
        except IntegrationsError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        # A WWW-Authenticate header makes DRF answer 401 rather than 403.
        return 'Bearer realm="api"'


class HasApiKeyScope(permissions.BasePermission):
    """The key must carry the view's `required_scope`; a 403 names the one missing."""

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        scope = view.required_scope
        if scope not in api_key.scopes:
            self.message = _("This API key lacks the scope %(scope)s.") % {"scope": scope}
            self.code = "missing_scope"
            return False
        return True


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key across the pull API, at DIRECTORY_API_RATE (e.g. "600/min"); 429 with Retry-After."""

    scope = "directory"

    def get_rate(self) -> str:
        # Read when the view runs (not at import), so the setting can be changed per deployment and in tests.
        return settings.DIRECTORY_API_RATE

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # unauthenticated calls fail authentication before throttling matters
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
