"""HR admin portal: the Settings area. Its index, and the organization's own settings (name, selfie-set bounds,
biometric retention, the consent text version), over tenancy's organization_update_settings, the service the
settings API calls."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.texts import CONSENT_VERSION
from tenancy.models import BIOMETRIC_RETENTION_DAYS_MAX, BIOMETRIC_RETENTION_DAYS_MIN
from tenancy.services import OrganizationSettingsError, organization_update_settings

from .admin_views import SETTINGS_PAGES, AdminView


class SettingsIndexView(AdminView):
    nav = "settings"

    def get(self, request, org_slug: str):
        return self.render("settings.html", {
            "pages": [(label, self.url(name), help) for _key, label, name, help in SETTINGS_PAGES]})


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Organization name"), max_length=200)
    selfies_required = forms.IntegerField(
        label=gettext_lazy("Selfies required"), min_value=1,
        help_text=gettext_lazy("How many accepted selfies make a set ready for headshots."))
    selfies_max = forms.IntegerField(label=gettext_lazy("Most selfies per person"), min_value=1)
    biometric_retention_days = forms.IntegerField(
        label=gettext_lazy("Keep selfies and face data for (days after approval)"),
        min_value=BIOMETRIC_RETENTION_DAYS_MIN, max_value=BIOMETRIC_RETENTION_DAYS_MAX,
        help_text=gettext_lazy("1 to 1095 days (BIPA allows at most 3 years). Approved headshots are kept."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selfies_max"].max_value = settings.SELFIES_LIMIT
        self.fields["selfies_max"].help_text = _("At most %(n)s.") % {"n": settings.SELFIES_LIMIT}


class OrganizationSettingsView(AdminView):
    nav, settings_page = "settings", "organization"

    def get(self, request, org_slug: str):
        org = self.organization
        return self.page(OrganizationSettingsForm(initial={
            "name": org.name, "selfies_required": org.selfies_required, "selfies_max": org.selfies_max,
            "biometric_retention_days": org.biometric_retention_days}))

    def post(self, request, org_slug: str):
        form = OrganizationSettingsForm(request.POST)
        if form.is_valid():
            try:
                organization_update_settings(organization=self.organization, **form.cleaned_data)
            except OrganizationSettingsError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The organization's settings are saved."))
                return HttpResponseRedirect(self.url("admin-settings-organization"))
        self.organization.refresh_from_db()
        return self.page(form, status=400)

    def page(self, form: OrganizationSettingsForm, status: int = 200):
        return self.render("settings_organization.html", {
            "form": form, "consent_version": CONSENT_VERSION,
            "privacy_url": reverse("privacy:notice", args=[self.organization.slug])}, status=status)
