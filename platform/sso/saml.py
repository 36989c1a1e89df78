"""python3-saml settings and request data for one organization's service provider, from PUBLIC_BASE_URL only."""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from tenancy.models import Organization

from .models import IdentityProviderConfig


def _public(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def sp_entity_id(organization: Organization) -> str:
    return _public(reverse("sso:metadata", kwargs={"org_slug": organization.slug}))


def sp_acs_url(organization: Organization) -> str:
    return _public(reverse("sso:acs", kwargs={"org_slug": organization.slug}))


def sp_settings_dict(organization: Organization, config: IdentityProviderConfig | None) -> dict:
    sp = {
        "entityId": sp_entity_id(organization),
        "assertionConsumerService": {"url": sp_acs_url(organization),
                                     "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST},
        "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_EMAIL_ADDRESS,
    }
    data: dict = {
        "strict": True,
        "debug": False,
        "sp": sp,
        "security": {
            # An assertion that is not signed by the organization's IdP is never accepted.
            "wantAssertionsSigned": True,
            "wantMessagesSigned": bool(config and config.want_messages_signed),
            "authnRequestsSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": False,
            # Asking for a specific authentication context makes IdPs with MFA policies refuse sign-in.
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "signMetadata": False,
        },
    }
    if config is not None:
        idp: dict = {
            "entityId": config.entity_id,
            "singleSignOnService": {"url": config.sso_url, "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT},
        }
        if len(config.x509_certs) == 1:
            idp["x509cert"] = config.x509_certs[0]
        else:
            idp["x509certMulti"] = {"signing": list(config.x509_certs)}
        if config.slo_url:
            idp["singleLogoutService"] = {"url": config.slo_url,
                                          "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT}
        data["idp"] = idp
    return data


def saml_settings(organization: Organization, config: IdentityProviderConfig | None) -> OneLogin_Saml2_Settings:
    # sp_validation_only: the SP's metadata can be served before any IdP is configured.
    return OneLogin_Saml2_Settings(sp_settings_dict(organization, config), sp_validation_only=config is None)


def request_data(request) -> dict:
    """python3-saml's view of the request. Scheme and host come from PUBLIC_BASE_URL, never from the Host header,
    so the Destination/Recipient checks compare against the URL we published, behind any proxy."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    return {
        "https": "on" if base.scheme == "https" else "off",
        "http_host": base.netloc,
        "script_name": base.path.rstrip("/") + request.path,
        "get_data": request.GET.copy(),
        "post_data": request.POST.copy(),
    }
