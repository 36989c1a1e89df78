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
