"""Reads of brand kits, always within one organization."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from tenancy.models import Organization

from .models import BrandKit, BrandKitVersion


def brand_kit_get(*, organization: Organization, kit_id: int) -> BrandKit | None:
    """None for an unused id and for another organization's alike."""
    return BrandKit.objects.for_organization(organization).filter(pk=kit_id).first()


def brand_kit_list(*, organization: Organization) -> QuerySet[BrandKit]:
    """The active kits, each with its versions newest first in `newest_versions` (one query for the whole page)."""
    newest_first = Prefetch("versions", queryset=BrandKitVersion.objects.order_by("-version"),
                            to_attr="newest_versions")
    return (BrandKit.objects.for_organization(organization).filter(archived_at__isnull=True)
            .prefetch_related(newest_first))


def brand_kit_versions(*, kit: BrandKit) -> QuerySet[BrandKitVersion]:
    return kit.versions.order_by("version")
