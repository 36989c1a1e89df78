"""The API's token authentication: DRF's, refusing a key that can't be one before it reaches the database."""
from __future__ import annotations

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        # Keys are printable ASCII (40 hex characters); a NUL in the header reached PostgreSQL and answered 500.
        if not (key.isascii() and key.isprintable()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
