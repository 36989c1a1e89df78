"""HR admin portal: exports. The streaming ZIP of every headshot, and export jobs that render them for one
destination's preset (status, download, retry)."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.delivery import DESTINATION_PRESETS
from integrations.export_jobs import export_job_retry, export_job_start
from integrations.models import ExportJob
from integrations.services import IntegrationsError
from teams.models import Headshot

from .admin_views import AdminView

PRESET_TITLES = {"microsoft365": "Microsoft 365", "google": "Google Workspace", "slack": "Slack",
                 "bamboohr": "BambooHR", "hibob": "HiBob", "workday": "Workday",
                 "original": gettext_lazy("Original (full size)")}


class ExportsView(AdminView):
    """The streaming ZIP of every headshot, and export jobs that render them for one destination's preset."""

    nav = "exports"

    def get(self, request, org_slug: str):
        approved = Headshot.objects.for_organization(self.organization).filter(approved=True).count()
        api = f"/api/v1/orgs/{self.organization.slug}"
        jobs = [{"job": job, "title": PRESET_TITLES.get(job.preset, job.preset),
                 "status_url": f"{api}/exports/{job.pk}", "download_url": f"{api}/exports/{job.pk}/download",
                 "retry_url": self.url("admin-export-job-retry", job.pk)}
                for job in ExportJob.objects.for_organization(self.organization).order_by("-id")[:10]]
        return self.render("exports.html", {
            "approved": approved, "export_url": reverse("api:tenant:headshot-export", args=[self.organization.slug]),
            "presets": [(name, PRESET_TITLES.get(name, name), preset) for name, preset in DESTINATION_PRESETS.items()],
            "jobs": jobs, "start_url": self.url("admin-export-job-start")})


class ExportJobStartView(AdminView):
    def post(self, request, org_slug: str):
        try:
            job = export_job_start(organization=self.organization, preset=request.POST.get("preset", ""),
                                   approved_only=request.POST.get("approved_only") == "true",
                                   created_by=request.user)
        except IntegrationsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Export #%(number)d for %(preset)s started.")
                             % {"number": job.number, "preset": PRESET_TITLES.get(job.preset, job.preset)})
        return HttpResponseRedirect(self.url("admin-exports"))


class ExportJobRetryView(AdminView):
    def post(self, request, org_slug: str, export_id: int):
        job = get_object_or_404(ExportJob.objects.for_organization(self.organization), pk=export_id)
        try:
            export_job_retry(job=job)
        except IntegrationsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Export #%(number)d is running again.") % {"number": job.number})
        return HttpResponseRedirect(self.url("admin-exports"))
