"""Rate limits for the API: sign-in and sign-up per IP (and per email), selfie uploads and everything else per user.

The rates live in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (from the environment) and are read on each request, so
a deployment or a test can change them. Counters sit in the default cache (CACHE_URL: Redis to share them between
web processes). Over a limit the API answers 429 with Retry-After and {"detail", "code": "throttled"}.
"""
from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRateThrottle(throttling.SimpleRateThrottle):
    def get_rate(self) -> str:
        # DRF binds THROTTLE_RATES at import; read the current settings instead (they reload on setting_changed).
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class LoginIpThrottle(_SettingsRateThrottle):
    """Password sign-in attempts per client IP (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES)."""

    scope = "login_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(_SettingsRateThrottle):
    """Password sign-in attempts per account email, whichever IPs they come from (spread-out guessing)."""

    scope = "login_email"

    def get_cache_key(self, request, view) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # the serializer refuses it anyway; the per-IP limit still counts it
        return self.cache_format % {"scope": self.scope, "ident": email.strip().lower()}


class SignupIpThrottle(LoginIpThrottle):
    """New accounts (and organizations) per client IP."""

    scope = "signup"


class UserThrottle(_SettingsRateThrottle):
    """The whole token/session API per signed-in user (generous: it stops runaway scripts, not people)."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
            return None  # anonymous calls are refused by authentication; API keys have their own per-key limit
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class SelfieUploadThrottle(UserThrottle):
    """Selfie uploads per user: each one runs face QC, the most expensive thing a person can ask for at will."""

    scope = "selfie_upload"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
