"""HR admin portal: directory connections. Connect Microsoft 365, Google Workspace and BambooHR (credentials are
write-only: never shown back, only which ones are set), test a connection, see where each employee's approved photo
stands at each destination (with the destination's own error words) and retry, and who linked Slack. Thin views
over connectors' services, the ones the API calls."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from connectors.models import Connection, ConnectionKind, PhotoSync, SlackConnection, SyncStatus
from connectors.services import (
    REQUIRED_CREDENTIALS,
    ConnectorError,
    connection_create,
    connection_delete,
    connection_test,
    connection_update,
    photo_sync_retry,
)

from .admin_views import AdminView

PAGE_SIZE = 25
CREDENTIAL_LABELS = {
    "tenant_id": gettext_lazy("Directory (tenant) ID"), "client_id": gettext_lazy("Application (client) ID"),
    "client_secret": gettext_lazy("Client secret"),
    "service_account": gettext_lazy("Service account key (the JSON file's contents)"),
    "admin_email": gettext_lazy("Admin the service account acts as"),
    "company_domain": gettext_lazy("Company domain (the part before .bamboohr.com)"),
    "api_key": gettext_lazy("API key"),
}
MULTILINE = {"service_account"}


class DirectoryView(AdminView):
    nav, settings_page = "settings", "directory"

    def get(self, request, org_slug: str):
        org = self.organization
        connections = {c.kind: c for c in Connection.objects.for_organization(org)}
        kinds = [{"kind": kind, "label": label, "connection": connections.get(kind),
                  "fields": [{"name": name, "label": CREDENTIAL_LABELS[name], "multiline": name in MULTILINE,
                              "set": bool(connections.get(kind) and name in connections[kind].credentials)}
                             for name in REQUIRED_CREDENTIALS[kind]]}
                 for kind, label in ConnectionKind.choices]
        syncs = PhotoSync.objects.for_organization(org).select_related("employee").order_by(
            "employee__name", "employee_id", "destination")
        status = request.GET.get("status", "")
        if status in SyncStatus.values:
            syncs = syncs.filter(status=status)
        page = Paginator(syncs, PAGE_SIZE).get_page(request.GET.get("page"))
        slack = SlackConnection.objects.for_organization(org).select_related("employee").order_by("employee__name")
        return self.render("directory.html", {"kinds": kinds, "page": page, "statuses": SyncStatus.choices,
                                              "status": status, "slack": slack})


class ConnectionSaveView(AdminView):
    def post(self, request, org_slug: str, kind: str):
        if kind not in ConnectionKind.values:
            messages.error(request, _("Unknown connection."))
            return HttpResponseRedirect(self.url("admin-directory"))
        # Write-only: a blank field keeps the stored secret, so one secret can be rotated on its own.
        credentials = {name: request.POST.get(name, "").strip() for name in REQUIRED_CREDENTIALS[kind]}
        credentials = {name: value for name, value in credentials.items() if value}
        values = {"base_url": request.POST.get("base_url", "").strip(),
                  "auth_url": request.POST.get("auth_url", "").strip(), "enabled": request.POST.get("enabled") == "on"}
        existing = Connection.objects.for_organization(self.organization).filter(kind=kind).first()
        try:
            if existing is None:
                connection_create(organization=self.organization, kind=kind, credentials=credentials, **values)
            else:
                connection_update(connection=existing, credentials=credentials, **values)
        except ConnectorError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": ConnectionKind(kind).label})
        return HttpResponseRedirect(self.url("admin-directory"))


class ConnectionActionView(AdminView):
    def post(self, request, org_slug: str, connection_id: int):
        connection = get_object_or_404(Connection.objects.for_organization(self.organization), pk=connection_id)
        name = connection.get_kind_display()
        if request.POST.get("action") == "delete":
            connection_delete(connection=connection)
            messages.success(request, _("%(name)s is disconnected.") % {"name": name})
        else:
            try:
                connection_test(connection=connection)
            except ConnectorError as exc:
                messages.error(request, _("%(name)s: the test failed: %(error)s") % {"name": name,
                                                                                     "error": exc.message})
            else:
                messages.success(request, _("%(name)s: signed in with these credentials.") % {"name": name})
        return HttpResponseRedirect(self.url("admin-directory"))


class PhotoSyncRetryView(AdminView):
    def post(self, request, org_slug: str, photo_sync_id: int):
        photo_sync = get_object_or_404(PhotoSync.objects.for_organization(self.organization), pk=photo_sync_id)
        try:
            photo_sync_retry(photo_sync=photo_sync)
        except ConnectorError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The push is queued again."))
        return HttpResponseRedirect(self.url("admin-directory"))
