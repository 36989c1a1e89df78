"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("exports/headshots.zip", api.HeadshotExportApi.as_view(), name="headshot-export"),
    path("api-keys", api.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<int:api_key_id>", api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("api-keys/<int:api_key_id>/rotate", api.ApiKeyRotateApi.as_view(), name="api-key-rotate"),
    path("exports", api.ExportJobListApi.as_view(), name="export-job-list"),
    path("exports/<int:export_id>", api.ExportJobDetailApi.as_view(), name="export-job-detail"),
    path("exports/<int:export_id>/retry", api.ExportJobRetryApi.as_view(), name="export-job-retry"),
    path("exports/<int:export_id>/download", api.ExportJobDownloadApi.as_view(), name="export-job-download"),
]
