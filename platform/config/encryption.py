"""Secrets we must read back (directory credentials, people's Slack tokens, webhook signing secrets) are stored
encrypted, so that a database dump or backup alone gives none of them away.

Fernet from `cryptography` (AES-128-CBC with HMAC-SHA256, a random IV per value): a maintained, misuse-resistant
construction rather than hand-made crypto. FIELD_ENCRYPTION_KEYS lists keys newest first: values written under an
older key still read, and `manage.py reencrypt_secrets` rewrites every value under the newest, so keys rotate.
"""
from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Marks an encrypted value, telling it from a plaintext one written before encryption (read as is, then rewritten).
PREFIX = "enc:v1:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes each, comma-separated; make one "
            "with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
        ) from exc


def encrypt(text: str) -> str:
    return PREFIX + _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(text.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value  # written before encryption: the next save encrypts it
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret can't be decrypted: FIELD_ENCRYPTION_KEYS no longer holds the key it was written with "
            "(keep the old key after the new one until `manage.py reencrypt_secrets` has run).") from None


class EncryptedTextField(models.TextField):
    """A text secret, encrypted in the database and plain in Python. Not for lookups (every write differs)."""

    def from_db_value(self, value, expression, connection):
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON object of secrets (a connection's credentials), encrypted as one value."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(decrypt(value) or "null")

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(decrypt(value) or "null")
        return value

    def get_prep_value(self, value):
        return None if value is None else encrypt(json.dumps(value))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every installed model with encrypted fields, and their names."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, (EncryptedTextField, EncryptedJSONField))]
        if names:
            found.append((model, names))
    return found


def reencrypt(targets: list[tuple[type[models.Model], list[str]]]) -> int:
    """Write every value again under the newest key (plaintext from before encryption included); returns the rows.
    Used by the migrations that introduced encryption and by `manage.py reencrypt_secrets` after a key rotation."""
    rows = 0
    for model, names in targets:
        for row in model._base_manager.all().iterator():
            # update(), not save(): no signals, no auto_now, only these columns.
            model._base_manager.filter(pk=row.pk).update(**{name: getattr(row, name) for name in names})
            rows += 1
    return rows
