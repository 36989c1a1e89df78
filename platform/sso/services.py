"""SSO configuration: the organization's identity provider from its metadata (pasted, uploaded or fetched), its
attribute mapping and domains, and whether the organization requires single sign-on.

Signing in lives beside it: saml_login (SP-initiated login and the ACS), provisioning (the account and membership a
sign-in makes or finds), email_codes (passwordless sign-in with emailed codes) and invites (invite links)."""
from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from django.db import transaction
from django.utils.translation import gettext as _
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from audit.services import record_in_transaction
from config.egress import EgressUnreachable, egress_call, egress_refusal
from config.errors import ServiceError
from tenancy.domains import DOMAIN_PATTERN, verified_domains
from tenancy.models import Organization

from .models import IdentityProviderConfig, PendingAuthnRequest, SsoIdentity
from .presets import MAPPING_FIELDS, PRESETS

logger = logging.getLogger(__name__)

METADATA_MAX_BYTES = 1024 * 1024


class SsoError(ServiceError):
    """SSO configuration or a sign-in was refused."""


# IdP configuration ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedIdP:
    entity_id: str
    sso_url: str
    slo_url: str
    x509_certs: list[str]


def idp_metadata_parse(metadata_xml: str | bytes) -> ParsedIdP:
    """The IdP's entity ID, HTTP-Redirect SSO URL and signing certificates, or a clear SsoError."""
    if isinstance(metadata_xml, bytes):
        if len(metadata_xml) > METADATA_MAX_BYTES:
            raise SsoError("metadata_too_large", _("The metadata file is larger than 1 MB."))
        try:
            metadata_xml = metadata_xml.decode("utf-8")
        except UnicodeDecodeError:
            raise SsoError("metadata_invalid", _("The metadata is not UTF-8 XML.")) from None
    metadata_xml = (metadata_xml or "").strip()
    if not metadata_xml:
        raise SsoError("metadata_missing", _("Paste or upload your identity provider's metadata XML."))
    if len(metadata_xml) > METADATA_MAX_BYTES:
        raise SsoError("metadata_too_large", _("The metadata file is larger than 1 MB."))
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(metadata_xml)
    except Exception as exc:  # lxml syntax errors, forbidden DTDs/entities: all mean "not usable XML"
        logger.info("IdP metadata refused: %s", exc)
        raise SsoError("metadata_invalid", _("The metadata is not valid XML: %(error)s") % {"error": exc}) from None
    idp = parsed.get("idp") or {}
    if not idp.get("entityId"):
        raise SsoError("metadata_no_idp", _("The metadata has no identity provider (IDPSSODescriptor with an "
                                            "entityID)."))
    sso_url = (idp.get("singleSignOnService") or {}).get("url", "")
    if not sso_url:
        raise SsoError("metadata_no_sso_url", _("The metadata has no single sign-on URL with the HTTP-Redirect "
                                                "binding."))
    if not sso_url.startswith(("https://", "http://")):
        raise SsoError("metadata_no_sso_url", _("The single sign-on URL in the metadata is not a web address."))
    certs = list((idp.get("x509certMulti") or {}).get("signing") or [])
    if not certs and idp.get("x509cert"):
        certs = [idp["x509cert"]]
    certs = [re.sub(r"\s+", "", c) for c in certs if c and c.strip()]
    if not certs:
        raise SsoError("metadata_no_certificate", _("The metadata has no signing certificate, so responses from "
                                                    "this identity provider could not be verified."))
    for cert in certs:
        try:
            x509.load_der_x509_certificate(base64.b64decode(cert, validate=True))
        except (ValueError, binascii.Error):
            raise SsoError("metadata_bad_certificate",
                           _("A signing certificate in the metadata can't be read.")) from None
    slo_url = (idp.get("singleLogoutService") or {}).get("url", "")
    return ParsedIdP(entity_id=idp["entityId"], sso_url=sso_url, slo_url=slo_url, x509_certs=certs)


METADATA_FETCH_TIMEOUT_SECONDS = 10


def idp_metadata_fetch(url: str) -> bytes:
    """The IdP's metadata from its URL, through the egress guard (https, public addresses only, no redirects)."""
    refusal = egress_refusal(url)
    if refusal:
        raise SsoError("metadata_url_invalid", refusal)
    try:
        with egress_call("GET", url, timeout=METADATA_FETCH_TIMEOUT_SECONDS, stream=True,
                         headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"}) as response:
            if response.status_code != 200:
                raise SsoError("metadata_url_failed", _("The metadata URL answered HTTP %(status)s, not 200.")
                               % {"status": response.status_code})
            body = response.raw.read(METADATA_MAX_BYTES + 1, decode_content=True)
    except EgressUnreachable as exc:
        raise SsoError("metadata_url_failed", exc.message) from None
    if len(body) > METADATA_MAX_BYTES:
        raise SsoError("metadata_too_large", _("The metadata file is larger than 1 MB."))
    return body


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    not_valid_after: datetime


def idp_certificates(config: IdentityProviderConfig) -> list[CertificateInfo]:
    """Who each of the IdP's signing certificates names and when it expires (an expired one breaks sign-in)."""
    infos = []
    for body in config.x509_certs:
        cert = x509.load_der_x509_certificate(base64.b64decode(body))
        infos.append(CertificateInfo(subject=cert.subject.rfc4514_string(), not_valid_after=cert.not_valid_after_utc))
    return infos


def _clean_mapping(preset: str, attribute_mapping: dict | None, current: dict | None) -> dict:
    if attribute_mapping is not None and not isinstance(attribute_mapping, dict):
        raise SsoError("mapping_invalid", _("attribute_mapping must be an object."))
    # A new preset starts from its mapping; otherwise the current mapping is changed field by field.
    base = dict(current) if current is not None else dict(PRESETS[preset]["attribute_mapping"])
    for key, value in (attribute_mapping or {}).items():
        if key not in MAPPING_FIELDS:
            raise SsoError("mapping_invalid", _("Unknown attribute mapping field %(field)s; use one of %(fields)s.")
                           % {"field": key, "fields": ", ".join(MAPPING_FIELDS)})
        if not isinstance(value, str) or len(value) > 512:
            raise SsoError("mapping_invalid", _("The attribute name for %(field)s must be text.") % {"field": key})
        base[key] = value.strip()
    return {field: base.get(field, "") for field in MAPPING_FIELDS}


def _clean_domains(organization: Organization, domains) -> list[str]:
    if not isinstance(domains, (list, tuple)):
        raise SsoError("domains_invalid", _("allowed_domains must be a list of domains."))
    verified = verified_domains(organization)
    cleaned = []
    for raw in domains:
        domain = str(raw).strip().lower().lstrip("@")
        if not DOMAIN_PATTERN.match(domain):
            raise SsoError("domains_invalid", _("%(domain)s is not an email domain.") % {"domain": raw})
        if domain not in verified:
            # Otherwise any organization could sign in or create accounts for another company's people.
            raise SsoError("domain_not_verified", _("Verify %(domain)s for this organization (a DNS TXT record or "
                                                    "an emailed code) before single sign-on can use it.")
                           % {"domain": domain})
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def idp_config_get(organization: Organization) -> IdentityProviderConfig | None:
    return IdentityProviderConfig.objects.for_organization(organization).first()


@transaction.atomic
def idp_config_save(*, organization: Organization, metadata_xml: str | bytes | None = None, preset: str | None = None,
                    attribute_mapping: dict | None = None, allowed_domains: list[str] | None = None,
                    enabled: bool | None = None, allow_idp_initiated: bool | None = None,
                    want_messages_signed: bool | None = None) -> IdentityProviderConfig:
    """Create or change the organization's IdP. Metadata is required the first time; the rest keep their values."""
    config = IdentityProviderConfig.objects.for_organization(organization).select_for_update().first()
    if config is None and not metadata_xml:
        raise SsoError("metadata_missing", _("Paste or upload your identity provider's metadata XML."))
    if preset is not None and preset not in PRESETS:
        raise SsoError("preset_invalid", _("Unknown preset %(preset)s; use one of %(presets)s.")
                       % {"preset": preset, "presets": ", ".join(PRESETS)})
    config = config or IdentityProviderConfig(organization=organization)
    if metadata_xml:
        parsed = idp_metadata_parse(metadata_xml)
        config.entity_id, config.sso_url, config.slo_url = parsed.entity_id, parsed.sso_url, parsed.slo_url
        config.x509_certs = parsed.x509_certs
        config.metadata_xml = metadata_xml.decode() if isinstance(metadata_xml, bytes) else metadata_xml
    if preset is not None or attribute_mapping is not None or not config.attribute_mapping:
        config.preset = preset or config.preset or "custom"
        config.attribute_mapping = _clean_mapping(config.preset, attribute_mapping,
                                                  None if preset is not None else config.attribute_mapping or None)
    if allowed_domains is not None:
        config.allowed_domains = _clean_domains(organization, allowed_domains)
    for name, value in (("enabled", enabled), ("allow_idp_initiated", allow_idp_initiated),
                        ("want_messages_signed", want_messages_signed)):
        if value is not None:
            setattr(config, name, bool(value))
    created = config.pk is None
    config.save()
    if not config.enabled and organization.require_sso:
        Organization.objects.filter(pk=organization.pk).update(require_sso=False)
        organization.require_sso = False
    record_in_transaction(action="sso.config_created" if created else "sso.config_changed", organization=organization,
                          object=config, detail={"enabled": config.enabled, "metadata_changed": bool(metadata_xml),
                                                 "allow_idp_initiated": config.allow_idp_initiated})
    return config


@transaction.atomic
def idp_config_delete(*, organization: Organization) -> bool:
    deleted, _ = IdentityProviderConfig.objects.for_organization(organization).delete()
    PendingAuthnRequest.objects.for_organization(organization).delete()
    # Without an IdP, requiring it would lock everyone out.
    Organization.objects.filter(pk=organization.pk).update(require_sso=False)
    if deleted:
        record_in_transaction(action="sso.config_deleted", organization=organization)
    return deleted > 0


def sso_require(*, organization: Organization, required: bool, actor=None) -> Organization:
    """Require (or stop requiring) SSO for the organization. Only once SSO is on and someone has signed in through
    it, so a misconfigured IdP can't lock the organization out."""
    if required:
        config = idp_config_get(organization)
        if config is None or not config.enabled:
            raise SsoError("sso_not_enabled", _("Turn single sign-on on before requiring it."), 409)
        if not SsoIdentity.objects.for_organization(organization).exists():
            raise SsoError("sso_untested", _("Sign in once through your identity provider (a test sign-in) before "
                                             "requiring single sign-on."), 409)
    if organization.require_sso != required:
        with transaction.atomic():
            organization.require_sso = required
            organization.save(update_fields=["require_sso"])
            record_in_transaction(action="sso.required" if required else "sso.not_required",
                                  organization=organization, actor=actor, object=organization)
    return organization
