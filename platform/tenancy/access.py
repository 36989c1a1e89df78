"""Who may reach an organization on this request: a member, through a sign-in that counts for that organization.

Accounts are global and organizations are not trusted to speak for them. A session remembers how it was signed in:
the account's own proof (a password or an emailed code) counts wherever the account is a member; a SAML sign-in
counts only for the organization whose identity provider made it. An organization that requires SSO is reached only
through a session its own IdP signed in (owners also through their API token, the way back in while the IdP is down).
Every tenant page and endpoint resolves its membership here, on every request, so ending a membership ends access.
"""
from __future__ import annotations

from django.utils.translation import gettext as _

from config.errors import ServiceError

from .models import Membership, Organization, Role
from .selectors import membership_for

# How this session was signed in: "password" or "code" (the account's own proof), or "sso".
SESSION_METHOD = "auth_method"
# Ids of the organizations whose identity provider signed this session in.
SESSION_SSO_ORGANIZATIONS = "auth_sso_organizations"
OWN_PROOF_METHODS = frozenset({"password", "code"})


class AccessError(ServiceError):
    """A member, but this sign-in doesn't count for the organization: sign in again the way it requires."""


def session_signed_in(request, *, method: str, organization: Organization | None = None) -> None:
    """Record how the session that `django.contrib.auth.login` just made was signed in.

    login() keeps the session's data when the same person signs in again, so an SSO sign-in on top of a code
    sign-in adds that organization and keeps the account-wide proof."""
    session = request.session
    if method == "sso":
        session[SESSION_SSO_ORGANIZATIONS] = sorted({*session.get(SESSION_SSO_ORGANIZATIONS, []), organization.pk})
        session.setdefault(SESSION_METHOD, "sso")
    else:
        session[SESSION_METHOD] = method


def session_has_own_proof(request) -> bool:
    """The session's person proved control of the account itself (not only through some organization's IdP).
    Sessions from before sign-in methods were recorded were all made by a code or a password."""
    session = getattr(request, "session", None)
    return session is not None and session.get(SESSION_METHOD, "code") in OWN_PROOF_METHODS


def _session_refusal(request, organization: Organization) -> AccessError | None:
    session = getattr(request, "session", None)
    method = session.get(SESSION_METHOD) if session is not None else None
    sso_organizations = set(session.get(SESSION_SSO_ORGANIZATIONS, [])) if session is not None else set()
    if method == "sso" and organization.pk not in sso_organizations:
        return AccessError("sign_in_required", _("You signed in through another organization's single sign-on. "
                                                 "Sign in to %(org)s to continue.") % {"org": organization.name}, 403)
    if organization.require_sso and organization.pk not in sso_organizations:
        return AccessError("sso_required", _("%(org)s requires single sign-on. Sign in through your company's "
                                             "identity provider.") % {"org": organization.name}, 403)
    return None


def membership_resolve(*, request, user, organization_slug: str, via_token: bool = False) -> Membership | None:
    """The caller's membership of the organization with this slug, or None when they aren't a member (callers
    answer 404, so slugs can't be probed). AccessError when a member arrived through a sign-in that doesn't count
    there."""
    if user is None or not user.is_authenticated or not user.is_active or not organization_slug:
        return None
    membership = membership_for(user, organization_slug)
    if membership is None:
        return None
    organization = membership.organization
    if via_token:
        if organization.require_sso and membership.role != Role.OWNER:
            raise AccessError("sso_required", _("%(org)s requires single sign-on: API tokens from a password "
                                                "sign-in don't open it.") % {"org": organization.name}, 403)
    else:
        refusal = _session_refusal(request, organization)
        if refusal is not None:
            raise refusal
    return membership

