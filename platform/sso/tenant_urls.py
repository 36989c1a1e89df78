"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("sso", api.SsoConfigApi.as_view(), name="sso"),
    path("sso/presets", api.SsoPresetListApi.as_view(), name="sso-presets"),
]
