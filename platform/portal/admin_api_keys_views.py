"""HR admin portal: API keys for HRIS and directory pulls. Create (the key is shown once), rotate with a grace
period, revoke, and see when each was last used; thin views over integrations' services, the ones the API calls."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.models import ApiKey, ApiKeyScope
from integrations.services import IntegrationsError, api_key_create, api_key_revoke, api_key_rotate

from .admin_views import AdminView

STATUS_LABELS = {"active": gettext_lazy("Active"), "rotating": gettext_lazy("Rotating: works until"),
                 "revoked": gettext_lazy("Revoked"), "expired": gettext_lazy("Expired")}
GRACE_CHOICES = ((0, gettext_lazy("Stop the old key now")), (3600, gettext_lazy("Keep the old key 1 hour")),
                 (86400, gettext_lazy("Keep the old key 1 day")), (7 * 86400, gettext_lazy("Keep the old key 7 days")))


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200,
                           help_text=gettext_lazy("The system that will use it, e.g. Workday."))
    scopes = forms.MultipleChoiceField(label=gettext_lazy("It may"), choices=ApiKeyScope.choices,
                                       widget=forms.CheckboxSelectMultiple)


class ApiKeysView(AdminView):
    nav, settings_page = "settings", "api_keys"

    def get(self, request, org_slug: str):
        return self.page(ApiKeyForm())

    def page(self, form: ApiKeyForm, *, secret: dict | None = None, status: int = 200):
        keys = list(ApiKey.objects.for_organization(self.organization).select_related("created_by")
                    .order_by("-created_at", "-id"))
        limit = settings.API_KEY_ROTATION_MAX_GRACE_SECONDS
        return self.render("api_keys.html", {
            "form": form, "secret": secret, "scope_labels": dict(ApiKeyScope.choices),
            "keys": [{"key": k, "status": k.status, "status_label": STATUS_LABELS[k.status]} for k in keys],
            "grace_choices": [(s, label) for s, label in GRACE_CHOICES if s <= limit],
            "pull_url": self.request.build_absolute_uri(reverse("integrations:directory-employees")),
        }, status=status)

    def post(self, request, org_slug: str):
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            issued = api_key_create(organization=self.organization, created_by=request.user,
                                    name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"])
        except IntegrationsError as exc:
            form.add_error(None, exc.message)
            return self.page(form, status=400)
        # Rendered, not redirected: the key exists only in this response, never in a session or a log.
        return self.page(ApiKeyForm(), status=201, secret={
            "title": _("New API key “%(name)s”") % {"name": issued.api_key.name}, "value": issued.key})


class ApiKeyActionView(ApiKeysView):
    http_method_names = ["post"]  # the list's GET doesn't take a key's id: 405, not a TypeError (500)

    def post(self, request, org_slug: str, api_key_id: int):
        api_key = get_object_or_404(ApiKey.objects.for_organization(self.organization), pk=api_key_id)
        if request.POST.get("action") == "revoke":
            api_key_revoke(api_key=api_key)
            messages.success(request, _("%(name)s is revoked: calls with it are refused from now on.")
                             % {"name": api_key.name})
            return HttpResponseRedirect(self.url("admin-api-keys"))
        grace = request.POST.get("grace_seconds", "0")
        try:
            issued = api_key_rotate(api_key=api_key, created_by=request.user,
                                    grace_seconds=int(grace) if grace.isdigit() else -1)
        except IntegrationsError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self.url("admin-api-keys"))
        return self.page(ApiKeyForm(), status=201, secret={
            "title": _("Replacement for “%(name)s”") % {"name": issued.api_key.name}, "value": issued.key})
