"""HR admin portal under /app/<org_slug>/admin/: the base of its pages (who gets in, the layout's navigation) and
the dashboard. Each area's pages are in admin_<area>_views.py.

Views stay thin: reads come from admin_selectors, writes from the apps' services. Admins and owners only:
anonymous visitors go to the login page, other organizations' slugs are 404 and employees get 403.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from tenancy.models import Membership

from .access import portal_member
from .admin_forms import STATE_LABELS
from .admin_selectors import STATES, active_rollouts, rollout_dashboard

PAGE_SIZE = 25


def admin_url(name: str, organization, *args) -> str:
    return reverse(f"portal:{name}", args=[organization.slug, *args])


class AdminView(View):
    """Resolves the organization from the URL once and lets only its admins and owners in."""

    nav = ""
    settings_page = ""  # which page of the Settings area (nav = "settings") this is

    def dispatch(self, request, *args, **kwargs):
        membership = portal_member(request, kwargs.get("org_slug"))
        if not isinstance(membership, Membership):
            return membership
        if not membership.is_admin:
            raise PermissionDenied(_("Only the organization's admins can open the admin portal."))
        self.organization = request.organization = membership.organization
        self.membership = request.membership = membership
        return super().dispatch(request, *args, **kwargs)

    def url(self, name: str, *args) -> str:
        return admin_url(name, self.organization, *args)

    def render(self, template: str, context: dict, status: int = 200):
        # The layout shows the messages itself, in a status region around a real list (portal/base.html puts
        # role="status" on the <ul>, which hides its items from assistive technology): base gets none to show.
        base = {"organization": self.organization, "nav": self.nav, "messages": (),
                "admin_messages": messages.get_messages(self.request),
                "nav_links": [(key, label, self.url(name)) for key, label, name in NAV],
                "settings_page": self.settings_page,
                "settings_links": [(key, label, self.url(name)) for key, label, name, _help in SETTINGS_PAGES]
                if self.nav == "settings" else ()}
        return render(self.request, f"portal/admin/{template}", {**base, **context}, status=status)


NAV = (
    ("dashboard", gettext_lazy("Dashboard"), "admin-dashboard"),
    ("rollouts", gettext_lazy("Rollouts"), "admin-rollouts"),
    ("employees", gettext_lazy("Employees"), "admin-employees"),
    ("brand_kits", gettext_lazy("Brand kits"), "admin-brand-kits"),
    ("review", gettext_lazy("Review"), "admin-review"),
    ("exports", gettext_lazy("Exports"), "admin-exports"),
    ("settings", gettext_lazy("Settings"), "admin-settings"),
)
# The pages of the Settings area, in the order its own navigation and its index list them.
SETTINGS_PAGES = (
    ("organization", gettext_lazy("Organization"), "admin-settings-organization",
     gettext_lazy("Name, selfies required, how long face data is kept, the consent text.")),
    ("access", gettext_lazy("People and roles"), "admin-access",
     gettext_lazy("Who is an admin or owner, and your verified email domains.")),
    ("sso", gettext_lazy("Single sign-on"), "admin-sso",
     gettext_lazy("SAML with Okta, Entra ID or Google Workspace: set up, test, then require.")),
    ("api_keys", gettext_lazy("API keys"), "admin-api-keys",
     gettext_lazy("Keys your HRIS or directory uses to pull approved headshots.")),
    ("webhooks", gettext_lazy("Webhooks"), "admin-webhooks",
     gettext_lazy("Signed events sent to your systems, and their delivery log.")),
    ("scim", gettext_lazy("Provisioning (SCIM)"), "admin-scim",
     gettext_lazy("Let Okta or Entra ID create, update and deactivate employees.")),
    ("directory", gettext_lazy("Directory connections"), "admin-directory",
     gettext_lazy("Push approved photos to Microsoft 365, Google Workspace and BambooHR; who linked Slack.")),
    ("privacy", gettext_lazy("Privacy"), "admin-privacy",
     gettext_lazy("Erase a person on request, and the signed erasure receipts.")),
    ("audit", gettext_lazy("Audit log"), "admin-audit",
     gettext_lazy("Who changed what, and who read whose face data; filter and download as CSV.")),
)

# Dashboard ---------------------------------------------------------------------------------------------------


class DashboardView(AdminView):
    nav = "dashboard"

    def get(self, request, org_slug: str):
        dashboard = rollout_dashboard(self.organization)
        employees = self.url("admin-employees")
        columns = [(state, STATE_LABELS[state]) for state in STATES]

        def cells(team_id, counts):
            query = {"team": team_id} if team_id else {}
            return [(label, counts.by_state[state], f"{employees}?{urlencode({**query, 'state': state})}")
                    for state, label in columns]

        return self.render("dashboard.html", {
            "columns": columns,
            "overall": cells(None, dashboard.overall), "overall_total": dashboard.overall.total,
            "teams": [(team.name or _("No team"), team.counts.total, cells(team.team_id, team.counts))
                      for team in dashboard.teams if team.team_id is not None]
                     + [(_("No team"), team.counts.total, cells(None, team.counts))
                        for team in dashboard.teams if team.team_id is None],
            "inactive": dashboard.inactive,
            "rollouts": active_rollouts(self.organization),
        })
