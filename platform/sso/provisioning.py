"""Just-in-time accounts: the account and membership a proven sign-in makes or finds in an organization (through its
IdP, or with an emailed code), for the people the organization invited, imported or owns the verified domain of."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Invite, User
from teams.employees import employee_create
from teams.models import Employee
from tenancy.domains import domain_of, verified_domains
from tenancy.models import Membership, Organization, Role

from .models import IdentityProviderConfig, SsoIdentity
from .services import SsoError

logger = logging.getLogger(__name__)


def _pending_invite(organization: Organization, email: str) -> Invite | None:
    return (Invite.objects.for_organization(organization)
            .filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True,
                    expires_at__gt=timezone.now()).order_by("-created_at").first())


@dataclass(frozen=True)
class Standing:
    """What the organization knows of an address: its employee record, a pending invite, a member's account."""

    employee: Employee | None
    invite: Invite | None
    membership: Membership | None
    domain_allowed: bool


def standing_for(organization: Organization, email: str, config: IdentityProviderConfig | None) -> Standing:
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
    return Standing(employee=employee, invite=invite, membership=membership, domain_allowed=domain_allowed)


def join_organization(*, organization: Organization, user: User, email: str, standing: Standing, name: str) -> None:
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


def require_active(user: User) -> User:
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
        user = require_active(link.user)
        if not Membership.objects.filter(organization=organization, user=user).exists():
            # The membership ended (deactivated, deleted): only the organization's records can bring it back.
            join_organization(organization=organization, user=user, email=user.email,
                  standing=standing_for(organization, user.email, config), name=name)
        SsoIdentity.objects.filter(pk=link.pk).update(last_sign_in_at=timezone.now())
        return user
    standing = standing_for(organization, email, config)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, name=name or (standing.employee.name if standing.employee else ""))
    elif standing.membership is None and session_user != user:
        logger.warning("sign-in to %s refused: %s has an account that hasn't proven it wants this link",
                       organization.slug, email)
        raise SsoError("link_required", _("An account for %(email)s already exists. Sign in to it first with a code "
                                          "sent to that address, then sign in with %(org)s's single sign-on again "
                                          "to connect the two.") % {"email": email, "org": organization.name}, 409)
    require_active(user)
    if name and not user.name:
        user.name = name
        user.save(update_fields=["name"])
    join_organization(organization=organization, user=user, email=email, standing=standing, name=name)
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
