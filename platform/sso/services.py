"""SSO writes: IdP configuration from metadata, SP-initiated login, the ACS (strict checks, replay cache, just-in-time
accounts) and passwordless sign-in with emailed one-time codes."""
from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response

from config.errors import ServiceError
from accounts.models import Invite, User
from accounts.services import InviteError, invite_accept_passwordless, invite_get_pending
from teams.models import Employee
from teams.services import employee_create
from tenancy.models import Membership, Organization, Role

from .models import ConsumedAssertion, IdentityProviderConfig, LoginCode, PendingAuthnRequest
from .presets import MAPPING_FIELDS, PRESETS
from .saml import request_data
from .saml import saml_settings as _saml_settings

logger = logging.getLogger(__name__)

METADATA_MAX_BYTES = 1024 * 1024
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


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
            raise SsoError("metadata_bad_certificate", _("A signing certificate in the metadata can't be read."))
    slo_url = (idp.get("singleLogoutService") or {}).get("url", "")
    return ParsedIdP(entity_id=idp["entityId"], sso_url=sso_url, slo_url=slo_url, x509_certs=certs)


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


def _clean_domains(domains) -> list[str]:
    if not isinstance(domains, (list, tuple)):
        raise SsoError("domains_invalid", _("allowed_domains must be a list of domains."))
    cleaned = []
    for raw in domains:
        domain = str(raw).strip().lower().lstrip("@")
        if not _DOMAIN.match(domain):
            raise SsoError("domains_invalid", _("%(domain)s is not an email domain.") % {"domain": raw})
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
        config.allowed_domains = _clean_domains(allowed_domains)
    for name, value in (("enabled", enabled), ("allow_idp_initiated", allow_idp_initiated),
                        ("want_messages_signed", want_messages_signed)):
        if value is not None:
            setattr(config, name, bool(value))
    config.save()
    return config


def idp_config_delete(*, organization: Organization) -> bool:
    deleted, _ = IdentityProviderConfig.objects.for_organization(organization).delete()
    PendingAuthnRequest.objects.for_organization(organization).delete()
    return deleted > 0


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


def _first(attributes: dict, name: str) -> str:
    values = attributes.get(name) if name else None
    return str(values[0] or "").strip() if values else ""


def _as_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value.lower()


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

    try:
        valid = response.is_valid(request_data(request), request_id=in_response_to)
    except Exception as exc:  # python3-saml raises on some malformed documents even without raise_exceptions
        logger.warning("SAML response for %s raised: %s", organization.slug, exc)
        valid = False
    if not valid:
        logger.warning("SAML response for %s refused: %s", organization.slug, response.get_error())
        raise SsoError("response_invalid", _("The sign-in response from your identity provider was refused."))

    mapping = config.attribute_mapping or {}
    try:
        assertion_id = response.get_assertion_id() or ""
        attributes = response.get_attributes()
        name_id = response.get_nameid() or ""
    except Exception as exc:  # e.g. an attribute sent twice under one name: python3-saml raises on reading it
        logger.warning("SAML response for %s unreadable after validation: %s", organization.slug, exc)
        raise SsoError("response_invalid", _("The sign-in response from your identity provider was refused.")) \
            from None
    if not assertion_id or len(assertion_id) > 256:
        raise SsoError("response_invalid", _("The sign-in response from your identity provider was refused."))
    email = _as_email(_first(attributes, mapping.get("email", ""))) or _as_email(name_id)
    if not email:
        logger.warning("SAML response for %s carries no email (mapping %r)", organization.slug, mapping.get("email"))
        raise SsoError("no_email", _("Your identity provider didn't send an email address for your account."))

    now = timezone.now()
    drift = timedelta(seconds=OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT)
    not_on_or_after = response.get_assertion_not_on_or_after()
    expires_at = (datetime.fromtimestamp(not_on_or_after, tz=dt_timezone.utc) if not_on_or_after
                  else now + timedelta(days=1)) + drift
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
        user = jit_provision(organization=organization, config=config, email=email,
                             name=_display_name(mapping, attributes))
    next_url = pending.next_url if pending is not None else request.POST.get("RelayState", "")
    return SignIn(user=user, next_url=next_url)


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


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def jit_provision(*, organization: Organization, config: IdentityProviderConfig | None, email: str,
                  name: str = "") -> User:
    """The account for `email` in `organization`: a member already, an invited or imported employee, a pending
    invite, or someone from an allowed domain (just in time). Anyone else is refused and nothing is created."""
    email = email.lower()
    employee = Employee.objects.for_organization(organization).filter(email__iexact=email).first()
    invite = _pending_invite(organization, email)
    membership = Membership.objects.filter(organization=organization, user__email__iexact=email).first()
    domain_allowed = config is not None and _domain_of(email) in (config.allowed_domains or [])
    if employee is not None and not employee.active:
        logger.warning("sign-in to %s refused: employee %s is deactivated", organization.slug, email)
        raise SsoError("deactivated", _("Your access to %(org)s has ended. Ask your HR team if this is a mistake.")
                       % {"org": organization.name}, 403)
    if employee is None and invite is None and membership is None and not domain_allowed:
        logger.warning("sign-in to %s refused: %s is not invited and its domain is not allowed", organization.slug,
                       email)
        raise SsoError("not_invited", _("Your company hasn't invited this account (%(email)s) yet. Ask your HR team "
                                        "for an invite.") % {"email": email}, 403)
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and not user.is_active:
        logger.warning("sign-in to %s refused: user %s is disabled", organization.slug, email)
        raise SsoError("deactivated", _("This account is disabled."), 403)
    if user is None:
        user = User.objects.create_user(email, None, name=name or (employee.name if employee else ""))
    elif name and not user.name:
        user.name = name
        user.save(update_fields=["name"])
    if membership is None:
        Membership.objects.get_or_create(organization=organization, user=user,
                                         defaults={"role": invite.role if invite else Role.EMPLOYEE})
    if employee is None and invite is not None:
        employee = invite.employee  # an admin's invite has no employee record, and none is made for it
    elif employee is None and membership is None:
        # Just in time, from an allowed domain: the person is an employee of the organization from now on.
        employee = employee_create(organization=organization, name=name or email.split("@")[0], email=email)
    if employee is not None and employee.user_id is None:
        employee.user = user
        employee.save(update_fields=["user", "updated_at"])
    if invite is not None:
        Invite.objects.filter(pk=invite.pk).update(accepted_at=timezone.now())
    return user


# Where an email signs in ---------------------------------------------------------------------------------------


def sso_organization_for_email(email: str) -> Organization | None:
    """The organization whose SSO this address must use: it is an employee there, or its domain is allowed."""
    email = email.strip().lower()
    configs = IdentityProviderConfig.objects.filter(enabled=True).select_related("organization")
    by_org = {config.organization_id: config for config in configs}
    if not by_org:
        return None
    employee = (Employee.objects.filter(email__iexact=email, organization_id__in=by_org, active=True)
                .order_by("id").first())
    if employee is not None:
        return by_org[employee.organization_id].organization
    domain = _domain_of(email)
    for config in sorted(by_org.values(), key=lambda c: c.pk):
        if domain in (config.allowed_domains or []):
            return config.organization
    return None


def _email_is_known(email: str) -> bool:
    return (User.objects.filter(email__iexact=email, is_active=True).exists()
            or Employee.objects.filter(email__iexact=email, active=True).exists()
            or Invite.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True,
                                     expires_at__gt=timezone.now()).exists())


# One-time codes ------------------------------------------------------------------------------------------------


def _code_hash(email: str, code: str) -> str:
    # Keyed by SECRET_KEY: a leaked table can't be brute-forced over the million codes without it.
    return salted_hmac("sso.login_code", f"{email.lower()}:{code}", algorithm="sha256").hexdigest()


def login_code_issue(*, email: str, purpose: str, invite: Invite | None = None) -> bool:
    """Email a fresh 6-digit code; any older open code for the same email and purpose stops working.
    Returns False (and sends nothing) when this address already had too many codes in the last hour."""
    email = email.strip().lower()
    now = timezone.now()
    recent = LoginCode.objects.filter(email=email, created_at__gt=now - timedelta(hours=1)).count()
    if recent >= settings.LOGIN_CODE_MAX_PER_HOUR:
        logger.warning("sign-in code for %s not sent: %d codes in the last hour", email, recent)
        return False
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        # Rows older than the hourly cap's window have no use left.
        LoginCode.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
        LoginCode.objects.filter(email=email, purpose=purpose, closed_at__isnull=True).update(closed_at=now)
        LoginCode.objects.create(email=email, purpose=purpose, invite=invite, code_hash=_code_hash(email, code),
                                 expires_at=now + timedelta(minutes=settings.LOGIN_CODE_TTL_MINUTES))
    minutes = settings.LOGIN_CODE_TTL_MINUTES
    if invite is not None:
        subject = _("%(org)s: your code to accept the invite") % {"org": invite.organization.name}
    else:
        subject = _("Your sign-in code")
    send_mail(subject=subject,
              message=_("Your one-time code is %(code)s\n\nIt works once, for %(minutes)d minutes. If you didn't ask "
                        "for it, ignore this email.\n") % {"code": code, "minutes": minutes},
              from_email=None, recipient_list=[email])
    return True


def login_code_check(*, email: str, code: str, purpose: str, invite: Invite | None = None) -> None:
    """Use the open code for this email, or raise. Wrong tries are counted even though the caller sees an error."""
    email = email.strip().lower()
    code = re.sub(r"\s+", "", code or "")
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
        elif not constant_time_compare(row.code_hash, _code_hash(email, code)):
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


def login_code_request(*, email: str) -> Organization | None:
    """First step of sign-in: an SSO organization to send this address to, or (None) a code was emailed if the
    address is known. The caller shows the same message either way when None."""
    email = email.strip().lower()
    organization = sso_organization_for_email(email)
    if organization is not None:
        return organization
    if _email_is_known(email):
        login_code_issue(email=email, purpose=LoginCode.Purpose.LOGIN)
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
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and not user.is_active:
        raise SsoError("deactivated", _("This account is disabled."), 403)
    sso_org_ids = set(IdentityProviderConfig.objects.filter(enabled=True).values_list("organization_id", flat=True))
    orgs = {e.organization for e in Employee.objects.filter(email__iexact=email, active=True, user__isnull=True)
            .select_related("organization") if e.organization_id not in sso_org_ids}
    orgs |= {i.organization for i in Invite.objects.filter(email__iexact=email, accepted_at__isnull=True,
                                                           revoked_at__isnull=True, expires_at__gt=timezone.now())
             .select_related("organization") if i.organization_id not in sso_org_ids}
    for organization in sorted(orgs, key=lambda o: o.pk):
        user = jit_provision(organization=organization, config=None, email=email)
    if user is None:
        raise SsoError("code_invalid", _("This code is not valid. Ask for a new one."))
    return user


# Invite links --------------------------------------------------------------------------------------------------


def _invite_error(exc: InviteError) -> SsoError:
    return SsoError(exc.code, exc.message, 404 if exc.code == "invite_invalid" else 410)


def invite_for_token(*, token: str) -> Invite:
    try:
        return invite_get_pending(token=token)
    except InviteError as exc:
        raise _invite_error(exc) from None


def invite_code_send(*, token: str) -> Invite:
    invite = invite_for_token(token=token)
    login_code_issue(email=invite.email, purpose=LoginCode.Purpose.INVITE, invite=invite)
    return invite


def invite_accept_with_code(*, token: str, code: str) -> User:
    """The code mailed to the invited address accepts the invite without a password."""
    invite = invite_for_token(token=token)
    login_code_check(email=invite.email, code=code, purpose=LoginCode.Purpose.INVITE, invite=invite)
    with transaction.atomic():
        return _accept_invite(token=token, invite=invite)


def _accept_invite(*, token: str, invite: Invite) -> User:
    try:
        user = invite_accept_passwordless(token=token)
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
