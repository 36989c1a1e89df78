"""User (email login) and Invite (a hashed, expiring, single-use token that joins one organization)."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from tenancy.models import Role, TenantModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password (SSO-only accounts later)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email


def hash_token(token: str) -> str:
    # Tokens are random 256-bit strings, so one SHA-256 is enough; only the hash is stored.
    return hashlib.sha256(token.encode()).hexdigest()


class Invite(TenantModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EMPLOYEE)
    token_hash = models.CharField(max_length=64, unique=True)
    # The employee record this invite signs in, when it is an employee invite.
    employee = models.ForeignKey("teams.Employee", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="invites")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class PendingSignup(models.Model):
    """A sign-up waiting for the emailed code: the account and its organization exist only once the address is
    proven, so nobody can create (and keep the password of) an account for someone else's address."""

    email = models.EmailField(db_index=True)
    name = models.CharField(max_length=200, blank=True)
    organization_name = models.CharField(max_length=200)
    password_hash = models.CharField(max_length=128)
    code_hash = models.CharField(max_length=64)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
