"""SSO writes: IdP configuration from metadata, SP-initiated login, the ACS (strict checks, replay cache, just-in-time
accounts) and passwordless sign-in with emailed one-time codes."""
from __future__ import annotations

import base64
import binascii
import logging
import math
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response

from accounts.models import Invite, User
from accounts.services import InviteError, invite_accept_proven, invite_get_pending
from audit.services import record_in_transaction
from config.codes import code_hash, code_matches, code_new
from config.egress import EgressUnreachable, egress_call, egress_refusal
from config.errors import ServiceError
from teams.models import Employee
from teams.services import employee_create
from tenancy.access import session_has_own_proof
from tenancy.domains import DOMAIN_PATTERN, domain_of, organization_for_verified_domain, verified_domains
from tenancy.models import Membership, Organization, Role

from .models import ConsumedAssertion, IdentityProviderConfig, LoginCode, PendingAuthnRequest, SsoIdentity
from .presets import MAPPING_FIELDS, PRESETS
from .saml import request_data
from .saml import saml_settings as _saml_settings

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


# SP-initiated login --------------------------------------------------------------------------------------------


def sp_settings(organization: Organization, config: IdentityProviderConfig | None):
    try:
        return _saml_settings(organization, config)
    except OneLogin_Saml2_Error as exc:
        logger.error("SAML settings for %s are invalid (check PUBLIC_BASE_URL): %s", organization.slug, exc)
        raise SsoError("sso_misconfigured", _("Single sign-on is not available right now."), 503) from None


def _enabled_config(organization: Organization) -> IdentityProviderConfig:
    config = idp_config_get(organization)
    if config is None or not config.enabled:
        raise SsoError("sso_not_enabled", _("Single sign-on is not set up for this organization."), 404)
    return config


def sso_login_url(*, organization: Organization, request, next_url: str) -> str:
    """The IdP's URL carrying our AuthnRequest (HTTP-Redirect); the request ID is kept to match the response."""
    config = _enabled_config(organization)
    auth = OneLogin_Saml2_Auth(request_data(request), sp_settings(organization, config))
    url = auth.login(return_to=next_url)
    now = timezone.now()
    PendingAuthnRequest.objects.for_organization(organization).filter(expires_at__lt=now).delete()
    PendingAuthnRequest.objects.create(organization=organization, request_id=auth.get_last_request_id(),
                                       next_url=next_url[:2000],
                                       expires_at=now + timedelta(seconds=settings.SSO_REQUEST_TTL_SECONDS))
    return url


# ACS -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    user: User
    next_url: str
    # What the assertion carried, for the admin's test sign-in report.
    email: str = ""
    name_id: str = ""
    issuer: str = ""
    attributes: dict = dataclass_field(default_factory=dict)


def _first(attributes: dict, name: str) -> str:
    values = attributes.get(name) if name else None
    return str(values[0] or "").strip() if values else ""


def _as_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value.lower()


_E = OneLogin_Saml2_ValidationError
# Why python3-saml refused a response, as a stable code (logged, and shown on the error page for support).
_REFUSAL_REASONS = {
    "signature_invalid": {_E.INVALID_SIGNATURE, _E.NO_SIGNATURE_FOUND},
    "unsigned": {_E.NO_SIGNED_ASSERTION, _E.NO_SIGNED_MESSAGE},
    "expired": {_E.ASSERTION_EXPIRED, _E.RESPONSE_EXPIRED, _E.SESSION_EXPIRED},
    "not_yet_valid": {_E.ASSERTION_TOO_EARLY},
    "wrong_audience": {_E.WRONG_AUDIENCE},
    "wrong_destination": {_E.WRONG_DESTINATION, _E.EMPTY_DESTINATION},
    "wrong_recipient": {_E.WRONG_SUBJECTCONFIRMATION},
    "wrong_issuer": {_E.WRONG_ISSUER, _E.ISSUER_MULTIPLE_IN_RESPONSE, _E.ISSUER_NOT_FOUND_IN_ASSERTION},
    "unknown_request": {_E.WRONG_INRESPONSETO},
    # Signature wrapping: the signed element is not the one that would be read, or there are extra ones.
    "signature_wrapping": {_E.WRONG_NUMBER_OF_ASSERTIONS, _E.WRONG_SIGNED_ELEMENT, _E.ID_NOT_FOUND_IN_SIGNED_ELEMENT,
                           _E.DUPLICATED_ID_IN_SIGNED_ELEMENTS, _E.INVALID_SIGNED_ELEMENT,
                           _E.DUPLICATED_REFERENCE_IN_SIGNED_ELEMENTS, _E.UNEXPECTED_SIGNED_ELEMENTS,
                           _E.WRONG_NUMBER_OF_SIGNATURES_IN_RESPONSE, _E.WRONG_NUMBER_OF_SIGNATURES_IN_ASSERTION,
                           _E.WRONG_NUMBER_OF_SIGNATURES},
}
_REASON_OF_CODE = {code: reason for reason, codes in _REFUSAL_REASONS.items() for code in codes}


def _refusal_reason(response: OneLogin_Saml2_Response, request) -> str | None:
    """None when the response is valid, else why not (a key of _REFUSAL_REASONS, or "response_invalid")."""
    try:
        response.is_valid(request_data(request), request_id=response.get_in_response_to() or None,
                          raise_exceptions=True)
    except OneLogin_Saml2_ValidationError as exc:
        return _REASON_OF_CODE.get(exc.code, "response_invalid")
    except Exception:  # python3-saml raises other errors on some malformed documents
        return "response_invalid"
    return None


def sso_acs(*, organization: Organization, request) -> SignIn:
    """Check a SAMLResponse posted to our ACS in strict mode, then sign its subject in (or refuse: SsoError)."""
    config = _enabled_config(organization)
    encoded = request.POST.get("SAMLResponse", "")
    if not encoded:
        raise SsoError("no_response", _("No SAML response was received."))
    settings_obj = sp_settings(organization, config)
    try:
        response = OneLogin_Saml2_Response(settings_obj, encoded)
    except Exception as exc:  # not base64, not XML, forbidden DTD: the same refusal
        logger.warning("SAML response for %s unreadable: %s", organization.slug, exc)
        raise SsoError("response_invalid", _("The sign-in response could not be read.")) from None

    in_response_to = response.get_in_response_to()
    if in_response_to:
        pending = PendingAuthnRequest.objects.for_organization(organization).filter(
            request_id=in_response_to, expires_at__gt=timezone.now()).first()
        if pending is None:
            logger.warning("SAML response for %s answers unknown or expired request %r", organization.slug,
                           in_response_to)
            raise SsoError("unknown_request", _("This sign-in response doesn't answer a sign-in we started "
                                                "(or it took too long). Please start again."))
    elif not config.allow_idp_initiated:
        raise SsoError("idp_initiated_refused", _("Sign-in must start from this site. Please start again."))
    else:
        pending = None

    reason = _refusal_reason(response, request)
    if reason is not None:
        logger.warning("SAML response for %s refused (%s): %s", organization.slug, reason, response.get_error())
        raise SsoError(reason, _("The sign-in response from your identity provider was refused (%(reason)s).")
                       % {"reason": reason})

    mapping = config.attribute_mapping or {}
    try:
        assertion_id = response.get_assertion_id() or ""
        attributes = response.get_attributes()
        name_id = response.get_nameid() or ""
    except Exception as exc:  # e.g. an attribute sent twice under one name: python3-saml raises on reading it
        logger.warning("SAML response for %s unreadable after validation: %s", organization.slug, exc)
        raise SsoError("response_invalid", _("The sign-in response from your identity provider was refused.")) \
            from None
    if not assertion_id or len(assertion_id) > 256 or not name_id or len(name_id) > 512:
        raise SsoError("response_invalid", _("The sign-in response from your identity provider was refused."))
    email = _as_email(_first(attributes, mapping.get("email", ""))) or _as_email(name_id)
    if not email:
        logger.warning("SAML response for %s carries no email (mapping %r)", organization.slug, mapping.get("email"))
        raise SsoError("no_email", _("Your identity provider didn't send an email address for your account."))

    now = timezone.now()
    drift = timedelta(seconds=OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT)
    not_on_or_after = response.get_assertion_not_on_or_after()
    expires_at = (datetime.fromtimestamp(not_on_or_after, tz=UTC) if not_on_or_after
                  else now + timedelta(days=1)) + drift
    session_user = request.user if request.user.is_authenticated and session_has_own_proof(request) else None
    with transaction.atomic():
        if pending is not None and PendingAuthnRequest.objects.filter(pk=pending.pk).delete()[0] != 1:
            raise SsoError("unknown_request", _("This sign-in was already completed. Please start again."))
        ConsumedAssertion.objects.for_organization(organization).filter(expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                ConsumedAssertion.objects.create(organization=organization, assertion_id=assertion_id,
                                                 expires_at=expires_at)
        except IntegrityError:
            logger.warning("SAML assertion %r replayed for %s", assertion_id, organization.slug)
            raise SsoError("replayed", _("This sign-in response was already used. Please start again.")) from None
        user = sso_sign_in(organization=organization, config=config, email=email, name_id=name_id,
                           idp_entity_id=config.entity_id, name=_display_name(mapping, attributes),
                           session_user=session_user)
    next_url = pending.next_url if pending is not None else request.POST.get("RelayState", "")
    return SignIn(user=user, next_url=next_url, email=email, name_id=name_id, issuer=config.entity_id,
                  attributes={str(k): [str(v) for v in values] for k, values in attributes.items()})


def _display_name(mapping: dict, attributes: dict) -> str:
    name = _first(attributes, mapping.get("display_name", ""))
    if not name:
        name = " ".join(p for p in (_first(attributes, mapping.get("first_name", "")),
                                    _first(attributes, mapping.get("last_name", ""))) if p)
    return name[:200]


def _pending_invite(organization: Organization, email: str) -> Invite | None:
    return (Invite.objects.for_organization(organization)
            .filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True,
                    expires_at__gt=timezone.now()).order_by("-created_at").first())


@dataclass(frozen=True)
class _Standing:
    """What the organization knows of an address: its employee record, a pending invite, a member's account."""

    employee: Employee | None
    invite: Invite | None
    membership: Membership | None
    domain_allowed: bool


def _standing(organization: Organization, email: str, config: IdentityProviderConfig | None) -> _Standing:
    """Refuses (403) a deactivated employee and anyone the organization neither invited, imported nor owns the
    verified domain of; nothing is created for them."""
    employee = Employee.objects.for_organization(organization).filter(email__iexact=email).first()
    invite = _pending_invite(organization, email)
    membership = Membership.objects.filter(organization=organization, user__email__iexact=email).first()
    domain = domain_of(email)
    # Just in time by domain only for a domain this organization has verified (checked on every use, so a
    # removed verification ends it at once).
    domain_allowed = (config is not None and domain in (config.allowed_domains or [])
                      and domain in verified_domains(organization))
    if employee is not None and not employee.active:
        logger.warning("sign-in to %s refused: employee %s is deactivated", organization.slug, email)
        raise SsoError("deactivated", _("Your access to %(org)s has ended. Ask your HR team if this is a mistake.")
                       % {"org": organization.name}, 403)
    if employee is None and invite is None and membership is None and not domain_allowed:
        logger.warning("sign-in to %s refused: %s is not invited and its domain is not verified for it",
                       organization.slug, email)
        raise SsoError("not_invited", _("Your company hasn't invited this account (%(email)s) yet. Ask your HR team "
                                        "for an invite.") % {"email": email}, 403)
    return _Standing(employee=employee, invite=invite, membership=membership, domain_allowed=domain_allowed)


def _join(*, organization: Organization, user: User, email: str, standing: _Standing, name: str) -> None:
    """Make `user` (whose control of `email` was proven) the member and employee the organization expects."""
    employee = standing.employee
    if standing.membership is None:
        Membership.objects.get_or_create(organization=organization, user=user,
                                         defaults={"role": standing.invite.role if standing.invite else Role.EMPLOYEE})
    if employee is None and standing.invite is not None:
        employee = standing.invite.employee  # an admin's invite has no employee record, and none is made for it
    elif employee is None and standing.membership is None:
        # Just in time, from a verified domain: the person is an employee of the organization from now on.
        employee = employee_create(organization=organization, name=name or email.split("@")[0], email=email)
    if employee is not None and employee.user_id is None:
        employee.user = user
        employee.save(update_fields=["user", "updated_at"])
    if standing.invite is not None:
        Invite.objects.filter(pk=standing.invite.pk).update(accepted_at=timezone.now())


def _active(user: User) -> User:
    if not user.is_active:
        raise SsoError("deactivated", _("This account is disabled."), 403)
    return user


def sso_sign_in(*, organization: Organization, config: IdentityProviderConfig, email: str, name_id: str,
                idp_entity_id: str, name: str = "", session_user: User | None = None) -> User:
    """The account that organization's IdP just authenticated, for this organization only.

    The (organization, IdP entity ID, NameID) link made at the first sign-in names the account from then on. A
    first sign-in links only people the organization invited, imported or owns the verified domain of, and
    attaches an existing account only with that account's own proof: it is already a member here (it joined with
    its own proof), or this browser is signed in to it with a code or password. Otherwise it creates a new account,
    which a later sign-in elsewhere can't reach through this IdP (see tenancy.access)."""
    email = email.lower()
    link = (SsoIdentity.objects.for_organization(organization).select_related("user")
            .filter(idp_entity_id=idp_entity_id, name_id=name_id).first())
    if link is not None:
        user = _active(link.user)
        if not Membership.objects.filter(organization=organization, user=user).exists():
            # The membership ended (deactivated, deleted): only the organization's records can bring it back.
            _join(organization=organization, user=user, email=user.email,
                  standing=_standing(organization, user.email, config), name=name)
        SsoIdentity.objects.filter(pk=link.pk).update(last_sign_in_at=timezone.now())
        return user
    standing = _standing(organization, email, config)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, name=name or (standing.employee.name if standing.employee else ""))
    elif standing.membership is None and session_user != user:
        logger.warning("sign-in to %s refused: %s has an account that hasn't proven it wants this link",
                       organization.slug, email)
        raise SsoError("link_required", _("An account for %(email)s already exists. Sign in to it first with a code "
                                          "sent to that address, then sign in with %(org)s's single sign-on again "
                                          "to connect the two.") % {"email": email, "org": organization.name}, 409)
    _active(user)
    if name and not user.name:
        user.name = name
        user.save(update_fields=["name"])
    _join(organization=organization, user=user, email=email, standing=standing, name=name)
    previous = SsoIdentity.objects.for_organization(organization).filter(user=user).first()
    if previous is not None and previous.idp_entity_id == idp_entity_id:
        # The account is already linked to another identity at this IdP: a second NameID can't take it over.
        raise SsoError("link_conflict", _("Your account here is already connected to another identity at your "
                                          "identity provider. Ask your IT team."), 409)
    try:
        with transaction.atomic():
            # A link to an IdP the organization has since replaced gives way to the new IdP's.
            SsoIdentity.objects.update_or_create(organization=organization, user=user, defaults={
                "idp_entity_id": idp_entity_id, "name_id": name_id, "last_sign_in_at": timezone.now()})
    except IntegrityError:
        raise SsoError("link_conflict", _("This identity is already connected to another account here. Ask your "
                                          "IT team."), 409) from None
    return user


# Where an email signs in ---------------------------------------------------------------------------------------


def sso_organization_for_email(email: str) -> Organization | None:
    """The organization whose SSO this address must use: the one that verified the address's domain, when its SSO
    is on. Nothing else routes an address: an employee record or an unverified domain is an organization's word,
    not proof."""
    organization = organization_for_verified_domain(domain_of(email.strip().lower()))
    if organization is None:
        return None
    config = idp_config_get(organization)
    return organization if config is not None and config.enabled else None


def _email_is_known(email: str) -> bool:
    return (User.objects.filter(email__iexact=email, is_active=True).exists()
            or Employee.objects.filter(email__iexact=email, active=True).exists()
            or Invite.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True,
                                     expires_at__gt=timezone.now()).exists())


# One-time codes ------------------------------------------------------------------------------------------------


LOGIN_CODE = "sso.login_code"


def login_code_wait(*, email: str, ip: str | None) -> int:
    """Seconds until this (address, IP) may get another code: 0, or the doubling back-off after each code in the
    last hour. Keyed by the asker's IP too, so strangers elsewhere can't keep an address from getting codes."""
    now = timezone.now()
    window = now - timedelta(hours=1)
    if ip and LoginCode.objects.filter(ip=ip, created_at__gt=window).count() >= settings.LOGIN_CODE_MAX_PER_IP_PER_HOUR:
        return 3600
    recent = list(LoginCode.objects.filter(email=email, ip=ip, created_at__gt=window)
                  .order_by("-created_at").values_list("created_at", flat=True)[:12])
    if not recent:
        return 0
    wait = timedelta(seconds=min(settings.LOGIN_CODE_BACKOFF_SECONDS * 2 ** (len(recent) - 1), 3600))
    return max(0, math.ceil((recent[0] + wait - now).total_seconds()))


def login_code_issue(*, email: str, purpose: str, invite: Invite | None = None, ip: str | None = None) -> int:
    """Email a fresh 6-digit code; any older open code for the same email and purpose stops working.
    Returns 0 when sent, else the seconds to wait (nothing sent): see login_code_wait."""
    email = email.strip().lower()
    now = timezone.now()
    wait = login_code_wait(email=email, ip=ip)
    if wait:
        logger.warning("sign-in code for %s from %s not sent: back off %d s", email, ip, wait)
        return wait
    code = code_new()
    with transaction.atomic():
        # Rows older than the back-off's window have no use left.
        LoginCode.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
        LoginCode.objects.filter(email=email, purpose=purpose, closed_at__isnull=True).update(closed_at=now)
        LoginCode.objects.create(email=email, purpose=purpose, invite=invite,
                                 code_hash=code_hash(LOGIN_CODE, email, code),
                                 ip=ip, expires_at=now + timedelta(minutes=settings.LOGIN_CODE_TTL_MINUTES))
    minutes = settings.LOGIN_CODE_TTL_MINUTES
    if invite is not None:
        subject = _("%(org)s: your code to accept the invite") % {"org": invite.organization.name}
    else:
        subject = _("Your sign-in code")
    send_mail(subject=subject,
              message=_("Your one-time code is %(code)s\n\nIt works once, for %(minutes)d minutes. If you didn't ask "
                        "for it, ignore this email.\n") % {"code": code, "minutes": minutes},
              from_email=None, recipient_list=[email])
    return 0


def login_code_check(*, email: str, code: str, purpose: str, invite: Invite | None = None) -> None:
    """Use the open code for this email, or raise. Wrong tries are counted even though the caller sees an error."""
    email = email.strip().lower()
    failure = None
    with transaction.atomic():
        row = (LoginCode.objects.select_for_update()
               .filter(email=email, purpose=purpose, closed_at__isnull=True,
                       **({"invite": invite} if invite is not None else {}))
               .order_by("-created_at").first())
        now = timezone.now()
        if row is None:
            failure = SsoError("code_invalid", _("This code is not valid. Ask for a new one."))
        elif row.expires_at <= now:
            row.closed_at = now
            row.save(update_fields=["closed_at"])
            failure = SsoError("code_expired", _("This code has expired. Ask for a new one."))
        elif not code_matches(row.code_hash, LOGIN_CODE, email, code):
            row.failed_attempts += 1
            if row.failed_attempts >= settings.LOGIN_CODE_MAX_ATTEMPTS:
                row.closed_at = now
                failure = SsoError("code_burnt", _("Too many wrong codes. Ask for a new one."))
            else:
                failure = SsoError("code_invalid", _("That code is not right. Check the email and try again."))
            row.save(update_fields=["failed_attempts", "closed_at"])
        else:
            row.closed_at = now
            row.save(update_fields=["closed_at"])
    if failure is not None:
        raise failure


def login_code_request(*, email: str, ip: str | None = None) -> Organization | None:
    """First step of sign-in: an SSO organization to send this address to, or (None) a code was emailed if the
    address is known. The caller shows the same message either way when None."""
    email = email.strip().lower()
    organization = sso_organization_for_email(email)
    if organization is not None:
        return organization
    if _email_is_known(email):
        login_code_issue(email=email, purpose=LoginCode.Purpose.LOGIN, ip=ip)
    return None


def login_with_code(*, email: str, code: str) -> User:
    """Second step: the right code signs in the address's user, creating it for invited or imported employees of
    organizations without SSO."""
    email = email.strip().lower()
    # Outside the transaction below, so a wrong try stays counted.
    login_code_check(email=email, code=code, purpose=LoginCode.Purpose.LOGIN)
    with transaction.atomic():
        return _passwordless_user(email)


def _passwordless_user(email: str) -> User:
    """The code proved control of the address: its account (made now if needed) joins the organizations without
    SSO that imported or invited this address."""
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        _active(user)
    sso_org_ids = set(IdentityProviderConfig.objects.filter(enabled=True).values_list("organization_id", flat=True))
    orgs = {e.organization for e in Employee.objects.filter(email__iexact=email, active=True, user__isnull=True)
            .select_related("organization") if e.organization_id not in sso_org_ids}
    orgs |= {i.organization for i in Invite.objects.filter(email__iexact=email, accepted_at__isnull=True,
                                                           revoked_at__isnull=True, expires_at__gt=timezone.now())
             .select_related("organization") if i.organization_id not in sso_org_ids}
    for organization in sorted(orgs, key=lambda o: o.pk):
        standing = _standing(organization, email, None)
        if user is None:
            user = User.objects.create_user(email, None, name=standing.employee.name if standing.employee else "")
        _join(organization=organization, user=user, email=email, standing=standing, name="")
    if user is None:
        raise SsoError("code_invalid", _("This code is not valid. Ask for a new one."))
    return user


# Invite links --------------------------------------------------------------------------------------------------


def _invite_error(exc: InviteError) -> SsoError:
    if exc.code == "deactivated":
        return SsoError(exc.code, exc.message, 403)
    return SsoError(exc.code, exc.message, 404 if exc.code == "invite_invalid" else 410)


def invite_for_token(*, token: str) -> Invite:
    try:
        return invite_get_pending(token=token)
    except InviteError as exc:
        raise _invite_error(exc) from None


def invite_code_send(*, token: str, ip: str | None = None) -> tuple[Invite, int]:
    """Email a code to the invited address; returns the invite and the seconds to wait (0 when sent)."""
    invite = invite_for_token(token=token)
    return invite, login_code_issue(email=invite.email, purpose=LoginCode.Purpose.INVITE, invite=invite, ip=ip)


def invite_accept_with_code(*, token: str, code: str) -> User:
    """The code mailed to the invited address accepts the invite without a password."""
    invite = invite_for_token(token=token)
    login_code_check(email=invite.email, code=code, purpose=LoginCode.Purpose.INVITE, invite=invite)
    with transaction.atomic():
        return _accept_invite(token=token, invite=invite)


def _accept_invite(*, token: str, invite: Invite) -> User:
    try:
        user = invite_accept_proven(token=token)
    except InviteError as exc:
        raise _invite_error(exc) from None
    if not user.is_active:
        raise SsoError("deactivated", _("This account is disabled."), 403)
    employee = (Employee.objects.for_organization(invite.organization)
                .filter(email__iexact=invite.email, user__isnull=True).first())
    if employee is not None:
        employee.user = user
        employee.save(update_fields=["user", "updated_at"])
    return user
