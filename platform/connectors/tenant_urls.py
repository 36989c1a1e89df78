"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("connections", api.ConnectionListApi.as_view(), name="connection-list"),
    path("connections/<int:connection_id>", api.ConnectionDetailApi.as_view(), name="connection-detail"),
    path("photo-syncs", api.PhotoSyncListApi.as_view(), name="photo-sync-list"),
    path("photo-syncs/<int:photo_sync_id>/retry", api.PhotoSyncRetryApi.as_view(), name="photo-sync-retry"),
    # "my-" names: the isolation matrix treats these as the employee's own, not admin-only.
    path("me/slack", api.MySlackConnectionApi.as_view(), name="my-slack-connection"),
]
