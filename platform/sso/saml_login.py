"""SAML sign-in: the SP-initiated login (our AuthnRequest, remembered to match its answer) and the ACS, which checks
a posted SAMLResponse in strict mode, keeps a replay cache of assertions and signs its subject in (provisioning)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.response import OneLogin_Saml2_Response

from accounts.models import User
from tenancy.access import session_has_own_proof
from tenancy.models import Organization

from .models import ConsumedAssertion, IdentityProviderConfig, PendingAuthnRequest
from .provisioning import sso_sign_in
from .saml import request_data
from .saml import saml_settings as _saml_settings
from .services import SsoError, idp_config_get

logger = logging.getLogger(__name__)


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
