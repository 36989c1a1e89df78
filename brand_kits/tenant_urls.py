"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("brand-kits", api.BrandKitListApi.as_view(), name="brand-kit-list"),
    path("brand-kit-presets", api.BrandKitPresetListApi.as_view(), name="brand-kit-presets"),
    path("brand-kits/<int:kit_id>", api.BrandKitDetailApi.as_view(), name="brand-kit-detail"),
    path("brand-kits/<int:kit_id>/background", api.BrandKitBackgroundApi.as_view(), name="brand-kit-background"),
    path("brand-kits/<int:kit_id>/style-reference", api.BrandKitStyleReferenceApi.as_view(),
         name="brand-kit-style-reference"),
    path("brand-kits/<int:kit_id>/versions", api.BrandKitVersionListApi.as_view(), name="brand-kit-versions"),
]
