"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("me/consent", api.MyConsentApi.as_view(), name="my-consent"),
]
