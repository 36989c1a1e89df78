"""HR admin portal: single sign-on, modelled on Sentry's SAML page. What to give the IdP (entity ID, ACS URL,
metadata URL, each with a copy button), the IdP's metadata by URL (through the egress guard), file or paste with
what was read from it, attribute-mapping presets with per-IdP steps, a test sign-in that runs a real round trip and
reports what the assertion carried, verified domains, and requiring SSO (only after a successful sign-in).
Thin views over sso's services, the ones the API calls."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sso.models import SsoIdentity
from sso.presets import MAPPING_FIELDS, PRESETS
from sso.saml import sp_acs_url, sp_entity_id
from sso.services import (
    METADATA_MAX_BYTES,
    SsoError,
    idp_certificates,
    idp_config_delete,
    idp_config_get,
    idp_config_save,
    idp_metadata_fetch,
    sso_require,
)
from sso.views import SESSION_TEST_REPORT, TEST_MARKER
from tenancy.domains import txt_record_name, txt_record_value
from tenancy.models import OrganizationDomain

from .admin_views import AdminView

MAPPING_LABELS = {"email": gettext_lazy("Email"), "first_name": gettext_lazy("First name"),
                  "last_name": gettext_lazy("Last name"), "display_name": gettext_lazy("Display name"),
                  "groups": gettext_lazy("Groups")}
# Step by step on the IdP's side, naming its own fields. {acs}, {entity} and {metadata} are our values.
PRESET_STEPS = {
    "okta": (
        gettext_lazy("Okta Admin Console → Applications → Create App Integration → SAML 2.0 → Next."),
        gettext_lazy("Single sign-on URL: the ACS URL above; tick “Use this for Recipient URL and Destination URL”."),
        gettext_lazy("Audience URI (SP Entity ID): the entity ID above. Name ID format: EmailAddress. Application "
                     "username: Email."),
        gettext_lazy("Attribute Statements: email = user.email, firstName = user.firstName, lastName = "
                     "user.lastName, displayName = user.displayName. Group Attribute Statements: groups, Matches "
                     "regex .*"),
        gettext_lazy("Finish, then Sign On tab → SAML 2.0 → copy the Metadata URL and paste it below."),
        gettext_lazy("Assignments: assign yourself, then run the test sign-in."),
    ),
    "entra": (
        gettext_lazy("Microsoft Entra admin center → Enterprise applications → New application → Create your own "
                     "application → Integrate any other application (non-gallery)."),
        gettext_lazy("Single sign-on → SAML → Basic SAML Configuration → Edit: Identifier (Entity ID) = the entity ID "
                     "above; Reply URL (Assertion Consumer Service URL) = the ACS URL above."),
        gettext_lazy("Attributes & Claims: keep emailaddress, givenname, surname and name; Unique User Identifier "
                     "(Name ID) = user.mail. Add a group claim to sync groups."),
        gettext_lazy("SAML Certificates: copy the App Federation Metadata Url and paste it below."),
        gettext_lazy("Users and groups: add yourself, then run the test sign-in."),
    ),
    "google": (
        gettext_lazy("Google Admin console → Apps → Web and mobile apps → Add app → Add custom SAML app."),
        gettext_lazy("Google Identity Provider details: Download Metadata (Option 2) and upload the file below."),
        gettext_lazy("Service provider details: ACS URL = the ACS URL above; Entity ID = the entity ID above; Name ID "
                     "format = EMAIL; Name ID = Basic Information > Primary email."),
        gettext_lazy("Attribute mapping: Primary email → email, First name → first_name, Last name → last_name; "
                     "Group membership → groups."),
        gettext_lazy("User access: turn the app ON for your organizational units, then run the test sign-in."),
    ),
    "custom": (
        gettext_lazy("Create a SAML 2.0 application with the ACS URL and entity ID above, signing assertions "
                     "(RSA-SHA256), Name ID = the person's email."),
        gettext_lazy("Send the email in an attribute (name it in the mapping below), then paste the IdP's "
                     "metadata below and run the test sign-in."),
    ),
}


class SsoView(AdminView):
    nav, settings_page = "settings", "sso"
    ACTIONS = ("metadata", "preset", "mapping", "settings", "test", "require", "unrequire", "delete")

    def get(self, request, org_slug: str):
        org = self.organization
        config = idp_config_get(org)
        report = request.session.get(SESSION_TEST_REPORT)
        if not report or report.get("organization") != org.pk:
            report = None
        claims = OrganizationDomain.objects.for_organization(org).order_by("domain")
        now = timezone.now()
        certificates = [{"info": c, "expired": c.not_valid_after <= now,
                         "days_left": (c.not_valid_after - now).days} for c in (idp_certificates(config) if config
                                                                                 else [])]
        current = config.preset if config else "okta"
        return self.render("sso.html", {
            "config": config, "certificates": certificates, "report": report,
            "sp": {"entity_id": sp_entity_id(org), "acs_url": sp_acs_url(org), "metadata_url": sp_entity_id(org)},
            "presets": [(name, p["label"]) for name, p in PRESETS.items()], "current_preset": current,
            "guides": [(name, PRESETS[name]["label"], PRESET_STEPS[name], name == current) for name in PRESET_STEPS],
            "mapping": [(f, MAPPING_LABELS[f], (config.attribute_mapping if config else {}).get(f, ""))
                        for f in MAPPING_FIELDS],
            "domains": [{"claim": c, "txt_name": txt_record_name(c), "txt_value": txt_record_value(c)}
                        for c in claims],
            "tested": SsoIdentity.objects.for_organization(org).exists(),
            "access_url": self.url("admin-access"),
        })

    def post(self, request, org_slug: str):
        org, action = self.organization, request.POST.get("action", "")
        handler = getattr(self, f"do_{action}") if action in self.ACTIONS else None
        if handler is None:
            messages.error(request, _("Unknown action."))
            return HttpResponseRedirect(self.url("admin-sso"))
        try:
            response = handler(request, org)
        except SsoError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self.url("admin-sso"))
        return response or HttpResponseRedirect(self.url("admin-sso"))

    def do_metadata(self, request, org):
        url, upload = request.POST.get("metadata_url", "").strip(), request.FILES.get("metadata_file")
        pasted = request.POST.get("metadata_xml", "")
        if url:
            metadata = idp_metadata_fetch(url)
        elif upload is not None:
            if upload.size > METADATA_MAX_BYTES:
                raise SsoError("metadata_too_large", _("The metadata file is larger than 1 MB."))
            metadata = upload.read()
        else:
            metadata = pasted
        # The first upload also picks the preset; later ones keep the mapping as it is.
        config = idp_config_save(organization=org, metadata_xml=metadata or None,
                                 preset=request.POST.get("preset") or None)
        messages.success(request, _("Read the metadata of %(entity)s.") % {"entity": config.entity_id})

    def do_preset(self, request, org):
        config = idp_config_save(organization=org, preset=request.POST.get("preset", ""))
        messages.success(request, _("The %(label)s attribute mapping is applied.")
                         % {"label": PRESETS[config.preset]["label"]})

    def do_mapping(self, request, org):
        idp_config_save(organization=org, attribute_mapping={f: request.POST.get(f, "") for f in MAPPING_FIELDS})
        messages.success(request, _("The attribute mapping is saved."))

    def do_settings(self, request, org):
        idp_config_save(organization=org, enabled=request.POST.get("enabled") == "on",
                        allow_idp_initiated=request.POST.get("allow_idp_initiated") == "on",
                        allowed_domains=request.POST.getlist("allowed_domains"))
        messages.success(request, _("Single sign-on settings are saved."))

    def do_test(self, request, org):
        config = idp_config_get(org)
        if config is None or not config.enabled:
            raise SsoError("sso_not_enabled", _("Turn single sign-on on before testing it."), 409)
        request.session.pop(SESSION_TEST_REPORT, None)
        back = f"{self.url('admin-sso')}?{TEST_MARKER}"
        start = reverse("sso:start", kwargs={"org_slug": org.slug})
        return HttpResponseRedirect(f"{start}?{urlencode({'next': back})}")

    def do_require(self, request, org):
        sso_require(organization=org, required=True, actor=request.user)
        messages.success(request, _("Single sign-on is now required for everyone in %(org)s.") % {"org": org.name})

    def do_unrequire(self, request, org):
        sso_require(organization=org, required=False, actor=request.user)
        messages.success(request, _("Single sign-on is no longer required."))

    def do_delete(self, request, org):
        idp_config_delete(organization=org)
        request.session.pop(SESSION_TEST_REPORT, None)
        messages.success(request, _("The identity provider is removed; people sign in with emailed codes."))
