"""HR admin portal: provisioning (SCIM 2.0). The base URL to give the directory, tokens (each shown once; rotate =
issue a replacement, then revoke the old one once the directory uses it), when each token was last seen, the
requests the directory got refused, and step-by-step help for Okta and Entra ID. Thin views over scim's token
services, the ones the API calls; the audit log supplies the refused requests."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.models import ActorType, AuditEvent
from scim.models import ScimToken
from scim.services import scim_token_create, scim_token_revoke

from .admin_views import AdminView

RECENT_ERRORS = 20


class ScimView(AdminView):
    nav, settings_page = "settings", "scim"

    def get(self, request, org_slug: str):
        return self.page()

    def page(self, *, secret: dict | None = None, status: int = 200):
        tokens = list(ScimToken.objects.for_organization(self.organization).select_related("created_by")
                      .order_by("-id"))
        events = AuditEvent.objects.for_organization(self.organization).filter(actor_type=ActorType.SCIM_TOKEN)
        errors = list(events.filter(status_code__gte=400).order_by("-at", "-id")[:RECENT_ERRORS])
        names = {str(t.pk): t.name or t.prefix for t in tokens}
        base = self.request.build_absolute_uri(reverse("scim:users")).removesuffix("Users")
        return self.render("scim.html", {
            "tokens": tokens, "secret": secret, "base_url": base, "last_request": events.order_by("-at").first(),
            "errors": [(e, names.get(e.actor_id, e.actor_id)) for e in errors]}, status=status)

    def post(self, request, org_slug: str):
        name = request.POST.get("name", "").strip()[:200]
        token, secret = scim_token_create(organization=self.organization, created_by=request.user, name=name)
        # Rendered, not redirected: the token is shown in this response only.
        return self.page(status=201, secret={
            "title": _("New provisioning token %(name)s") % {"name": token.name or token.prefix}, "value": secret})


class ScimTokenActionView(ScimView):
    http_method_names = ["post"]  # the page's GET doesn't take a token's id: 405, not a TypeError (500)

    def post(self, request, org_slug: str, token_id: int):
        token = get_object_or_404(ScimToken.objects.for_organization(self.organization), pk=token_id)
        if token.revoked_at is not None:
            messages.error(request, _("This token is already revoked."))
            return HttpResponseRedirect(self.url("admin-scim"))
        if request.POST.get("action") == "revoke":
            scim_token_revoke(token=token)
            messages.success(request, _("The token is revoked: the directory's requests with it are refused now."))
            return HttpResponseRedirect(self.url("admin-scim"))
        # Rotate: a replacement under the same name; the old token keeps working until it is revoked, so the
        # directory never loses access between the two steps.
        new, secret = scim_token_create(organization=self.organization, created_by=request.user, name=token.name)
        messages.info(request, _("Paste the new token into your directory, then revoke the old one (%(prefix)s…).")
                      % {"prefix": token.prefix})
        return self.page(status=201, secret={
            "title": _("Replacement provisioning token %(name)s") % {"name": new.name or new.prefix}, "value": secret})
