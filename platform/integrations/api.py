"""Export endpoints (admins)."""
from __future__ import annotations

import tempfile

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema

from tenancy.api import OrganizationAdminEndpoint

from .exports import export_zip_write


class HeadshotExportApi(OrganizationAdminEndpoint):
    @extend_schema(parameters=[OpenApiParameter("approved_only", bool, default=True)],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, org_slug: str):
        """ZIP of headshots (approved ones by default; approved_only=false for all) with a CSV manifest."""
        approved_only = request.query_params.get("approved_only", "true").lower() not in {"0", "false", "no"}
        # A temporary file on disk, not memory: the job-based, storage-streamed export comes with the sync issue.
        target = tempfile.TemporaryFile()
        export_zip_write(organization=self.organization, approved_only=approved_only, target=target)
        target.seek(0)
        filename = f"{self.organization.slug}-headshots.zip"
        return FileResponse(target, as_attachment=True, filename=filename, content_type="application/zip")
