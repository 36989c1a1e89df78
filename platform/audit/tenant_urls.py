"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("audit-events", api.AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit-events.csv", api.AuditEventCsvApi.as_view(), name="audit-event-csv"),
]
