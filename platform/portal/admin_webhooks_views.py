"""HR admin portal: webhooks. Endpoints with the events they receive, the signing secret (shown once, rotatable),
a test event, and each endpoint's delivery log with a manual retry; thin views over webhooks' services, the ones the
API calls. URLs go through the egress guard there (https, public addresses only)."""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    WebhookError,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

from .admin_views import AdminView

DELIVERIES_PAGE_SIZE = 25


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("Receiver URL"), max_length=2000,
                          help_text=gettext_lazy("https only, on a public address."))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=EventType.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text=gettext_lazy("None ticked: every event."))


def _secret(endpoint: WebhookEndpoint, title: str) -> dict:
    return {"title": title, "value": endpoint.secret}


class WebhooksView(AdminView):
    nav, settings_page = "settings", "webhooks"

    def get(self, request, org_slug: str):
        return self.page(EndpointForm())

    def page(self, form: EndpointForm, *, secret: dict | None = None, status: int = 200):
        endpoints = WebhookEndpoint.objects.for_organization(self.organization).order_by("id")
        return self.render("webhooks.html", {"form": form, "secret": secret, "endpoints": endpoints,
                                             "event_labels": dict(EventType.choices)}, status=status)

    def post(self, request, org_slug: str):
        form = EndpointForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            endpoint = endpoint_create(organization=self.organization, **form.cleaned_data)
        except WebhookError as exc:
            form.add_error("url", exc.message)
            return self.page(form, status=400)
        # Rendered, not redirected: the secret is shown in this response only.
        return self.page(EndpointForm(), status=201, secret=_secret(
            endpoint, _("Signing secret for %(url)s") % {"url": endpoint.url}))


class WebhookEndpointView(WebhooksView):
    """One endpoint: its delivery log, and the actions on it (test, rotate secret, enable/disable, delete)."""

    def endpoint(self, webhook_id: int) -> WebhookEndpoint:
        return get_object_or_404(WebhookEndpoint.objects.for_organization(self.organization), pk=webhook_id)

    def get(self, request, org_slug: str, webhook_id: int):
        return self.detail(self.endpoint(webhook_id))

    def detail(self, endpoint: WebhookEndpoint, *, secret: dict | None = None, status: int = 200):
        deliveries = (WebhookDelivery.objects.for_organization(self.organization).filter(endpoint=endpoint)
                      .select_related("message").order_by("-id"))
        page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(self.request.GET.get("page"))
        return self.render("webhook_detail.html", {
            "endpoint": endpoint, "page": page, "secret": secret, "event_labels": dict(EventType.choices),
            "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS}, status=status)

    def post(self, request, org_slug: str, webhook_id: int):
        endpoint = self.endpoint(webhook_id)
        action = request.POST.get("action")
        try:
            if action == "test":
                endpoint_send_test(endpoint=endpoint)
                messages.success(request, _("A test event is on its way; its delivery shows below."))
            elif action == "rotate":
                endpoint_rotate_secret(endpoint=endpoint)
                hours = settings.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS // 3600
                return self.detail(endpoint, status=201, secret=_secret(endpoint, ngettext_hours(hours)))
            elif action in ("enable", "disable"):
                endpoint_update(endpoint=endpoint, enabled=action == "enable")
                messages.success(request, _("The endpoint is enabled.") if action == "enable"
                                 else _("The endpoint is disabled."))
            elif action == "delete":
                endpoint_delete(endpoint=endpoint)
                messages.success(request, _("The endpoint is deleted."))
                return HttpResponseRedirect(self.url("admin-webhooks"))
            else:
                messages.error(request, _("Unknown action."))
        except WebhookError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-webhook", endpoint.pk))


def ngettext_hours(hours: int) -> str:
    return ngettext("New signing secret (the old one also signs for %(n)s more hour)",
                    "New signing secret (the old one also signs for %(n)s more hours)", hours) % {"n": hours}


class WebhookDeliveryRetryView(AdminView):
    def post(self, request, org_slug: str, webhook_id: int, delivery_id: int):
        # Scoped twice: the delivery must be this organization's and this endpoint's.
        delivery = get_object_or_404(WebhookDelivery.objects.for_organization(self.organization),
                                     pk=delivery_id, endpoint_id=webhook_id)
        try:
            delivery_retry(delivery=delivery)
            messages.success(request, _("The delivery is queued again."))
        except WebhookError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-webhook", webhook_id))
