"""Tenant writes: creating an organization with its first owner."""
from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from .models import Membership, Organization, Role


@transaction.atomic
def organization_create(*, name: str, owner) -> Organization:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


class OrganizationSettingsError(ValueError):
    pass


def organization_update_settings(*, organization: Organization, selfies_required: int | None = None,
                                 selfies_max: int | None = None,
                                 biometric_retention_days: int | None = None) -> Organization:
    from django.conf import settings

    from .models import BIOMETRIC_RETENTION_DAYS_MAX, BIOMETRIC_RETENTION_DAYS_MIN

    required = organization.selfies_required if selfies_required is None else selfies_required
    maximum = organization.selfies_max if selfies_max is None else selfies_max
    if not 1 <= required <= maximum <= settings.SELFIES_LIMIT:
        raise OrganizationSettingsError(
            f"selfies_required and selfies_max must satisfy 1 <= required <= max <= {settings.SELFIES_LIMIT} "
            f"(got {required} and {maximum}).")
    retention = (organization.biometric_retention_days if biometric_retention_days is None
                 else biometric_retention_days)
    if not BIOMETRIC_RETENTION_DAYS_MIN <= retention <= BIOMETRIC_RETENTION_DAYS_MAX:
        raise OrganizationSettingsError(
            f"biometric_retention_days must be between {BIOMETRIC_RETENTION_DAYS_MIN} and "
            f"{BIOMETRIC_RETENTION_DAYS_MAX} days (BIPA allows at most 3 years; got {retention}).")
    organization.selfies_required, organization.selfies_max = required, maximum
    organization.biometric_retention_days = retention
    organization.save(update_fields=["selfies_required", "selfies_max", "biometric_retention_days"])
    return organization
