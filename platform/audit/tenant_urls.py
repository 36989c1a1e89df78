"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""

patterns: list = []
