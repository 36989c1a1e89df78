"""Organization = tenant. Every tenant-owned row carries its organization and is reached through `for_organization`."""
from __future__ import annotations

from django.conf import settings
from django.db import models


def _default_selfies_required() -> int:
    return settings.SELFIES_REQUIRED_DEFAULT


def _default_selfies_max() -> int:
    return settings.SELFIES_MAX_DEFAULT


def _default_biometric_retention_days() -> int:
    return settings.BIOMETRIC_RETENTION_DAYS


# BIPA allows keeping biometric identifiers at most 3 years; a day is the shortest period a daily purge can honour.
BIOMETRIC_RETENTION_DAYS_MIN, BIOMETRIC_RETENTION_DAYS_MAX = 1, 1095


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A selfie set is ready for generation once it holds this many accepted photos ...
    selfies_required = models.PositiveSmallIntegerField(default=_default_selfies_required)
    # ... and never holds more than this many.
    selfies_max = models.PositiveSmallIntegerField(default=_default_selfies_max)
    # Selfies, embeddings and the identity profile are deleted this many days after a headshot's approval.
    biometric_retention_days = models.PositiveSmallIntegerField(default=_default_biometric_retention_days)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EMPLOYEE = "employee", "Employee"


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EMPLOYEE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")]

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | None) -> "TenantQuerySet":
        # Fail closed: no organization means no rows, never all rows.
        if organization is None:
            return self.none()
        return self.filter(organization=organization)


class TenantModel(models.Model):
    """Base of every tenant-owned model: the organization column and the scoped manager."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
