"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("scim/tokens", api.ScimTokenListApi.as_view(), name="scim-token-list"),
    path("scim/tokens/<int:scim_token_id>", api.ScimTokenDetailApi.as_view(), name="scim-token-detail"),
]
