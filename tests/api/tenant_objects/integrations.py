"""Objects of the integrations app for the isolation matrix: an API key and a finished export job."""
from __future__ import annotations

from django.core.files.base import ContentFile

from integrations.models import ExportJob, ExportStatus
from integrations.services import api_key_create


def populate(tenant) -> dict[str, object]:
    issued = api_key_create(organization=tenant.org, name="HRIS", scopes=["employees:read"], created_by=tenant.admin)
    job = ExportJob.objects.create(organization=tenant.org, preset="slack", status=ExportStatus.DONE, total=1, done=1,
                                   created_by=tenant.admin)
    # The manifest row names the employee, so a leak of this file would show up in the matrix's body checks.
    job.file.save("export.zip", ContentFile(f"manifest {tenant.employee.email}".encode()), save=True)
    return {"api_key_id": issued.api_key, "export_id": job}
