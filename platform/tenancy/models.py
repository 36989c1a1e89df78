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
    # Members reach the organization only through a session its own identity provider authenticated
    # (owners keep their API tokens as a way back in while the IdP is down).
    require_sso = models.BooleanField(default=False)

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


ROLE_RANK = {Role.EMPLOYEE: 0, Role.ADMIN: 1, Role.OWNER: 2}


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | None) -> TenantQuerySet:
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


class OrganizationDomain(TenantModel):
    """An email domain an organization claims. It routes sign-ins and creates accounts just in time only once
    verified (a DNS TXT record, or a code sent to a mailbox at the domain); a domain is verified for one
    organization at most."""

    class Method(models.TextChoices):
        DNS = "dns", "DNS TXT record"
        EMAIL = "email", "Code sent to a mailbox at the domain"

    domain = models.CharField(max_length=253)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.DNS)
    # Published in DNS, so not a secret; random so one organization can't reuse another's record.
    token = models.CharField(max_length=64)
    # The email method: the mailbox at the domain that receives the code, and the code's keyed hash.
    verification_email = models.EmailField(blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_failed_attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "domain"], name="one_claim_per_org_and_domain"),
            models.UniqueConstraint(fields=["domain"], condition=models.Q(verified_at__isnull=False),
                                    name="one_verified_org_per_domain"),
        ]

    @property
    def status(self) -> str:
        return "verified" if self.verified_at else "pending"
