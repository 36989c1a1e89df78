"""Account writes: sign-up with a proven address, invite creation and acceptance. One function per change.

An organization may create an employee record or an invite for any address, but it never speaks for an account:
a new account exists only once its address is proven (an emailed code, or the invite token that only travelled by
email), and an existing account joins an organization only with its own proof (its password, a code sent to its
address, or being signed in to it)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.codes import code_hash, code_matches, code_new
from config.errors import ServiceError
from tenancy.models import Membership, Organization, Role
from tenancy.services import organization_create

from .models import Invite, PendingSignup, User, hash_token

SIGNUP_CODE_TTL = timedelta(minutes=30)
SIGNUP_CODE = "accounts.signup_code"


class InviteError(ServiceError):
    """An invite can't be used (invalid, used, revoked, expired) or not by this caller."""


class SignupError(ServiceError):
    """A sign-up or its verification was refused."""


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    # The plain token exists only here, at creation; it goes into the emailed link and is never stored or returned.
    token: str


def invite_create(*, organization: Organization, email: str, role: str = Role.EMPLOYEE, invited_by: User | None,
                  employee=None) -> IssuedInvite:
    token = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        organization=organization,
        email=email.lower(),
        role=role,
        employee=employee,
        invited_by=invited_by,
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(hours=settings.INVITE_TTL_HOURS),
    )
    return IssuedInvite(invite=invite, token=token)


def invite_get_pending(*, token: str, for_update: bool = False) -> Invite:
    """The invite this token opens, if it can still be accepted; InviteError says why not."""
    invites = Invite.objects.select_for_update() if for_update else Invite.objects.select_related("organization")
    invite = invites.filter(token_hash=hash_token(token or "")).first()
    if invite is None:
        raise InviteError("invite_invalid", _("This invite link is not valid."), 400)
    if invite.accepted_at is not None:
        raise InviteError("invite_used", _("This invite has already been used. Sign in instead."), 400)
    if invite.revoked_at is not None or (invite.employee_id is not None and not invite.employee.active):
        raise InviteError("invite_revoked", _("This invite was withdrawn. Ask your HR team for a new one."), 400)
    if invite.expires_at <= timezone.now():
        raise InviteError("invite_expired", _("This invite has expired. Ask your HR team for a new one."), 400)
    return invite


def _join(invite: Invite, user: User) -> User:
    if not user.is_active:
        raise InviteError("deactivated", _("This account is disabled."), 403)
    Membership.objects.get_or_create(organization=invite.organization, user=user, defaults={"role": invite.role})
    if invite.employee_id is not None and invite.employee.user_id is None:
        invite.employee.user = user
        invite.employee.save(update_fields=["user"])
    invite.accepted_at = timezone.now()
    invite.save(update_fields=["accepted_at"])
    return user


@transaction.atomic
def invite_accept(*, token: str, password: str | None = None, name: str = "",
                  signed_in_user: User | None = None) -> User:
    """Accept an invite with proof of control of the invited address's account:

    - the caller is signed in (with the account's own proof) to the account with that address; or
    - no account has that address: the token, which only travelled by email to it, proves it, and `password`
      becomes the new account's password; or
    - an account has that address and `password` is that account's own password.
    A password chosen here never opens an account that already exists; a new account's password must pass the
    password validators (django.core.exceptions.ValidationError otherwise)."""
    invite = invite_get_pending(token=token, for_update=True)
    existing = User.objects.filter(email__iexact=invite.email).first()
    if signed_in_user is not None:
        if existing is None or existing.pk != signed_in_user.pk:
            raise InviteError("invite_other_account", _("This invite is for another email address. Sign out and "
                                                         "open the link from that address's email."), 403)
        return _join(invite, existing)
    if existing is not None:
        if not password or not existing.check_password(password):
            raise InviteError("account_exists", _("An account with this email already exists. Accept with that "
                                                  "account's password, or open the emailed link to get a code."), 409)
        return _join(invite, existing)
    validate_password(password or "")
    if not password:
        raise InviteError("password_required", _("Choose a password for your new account."), 400)
    return _join(invite, User.objects.create_user(invite.email, password, name=name))


@transaction.atomic
def invite_accept_proven(*, token: str) -> User:
    """Accept for someone who just proved they control the invited address (a code sent to it): joins the
    address's account, or creates it without a password."""
    invite = invite_get_pending(token=token, for_update=True)
    user = User.objects.filter(email__iexact=invite.email).first() or User.objects.create_user(invite.email, None)
    return _join(invite, user)


# Sign-up ---------------------------------------------------------------------------------------------------------


def signup_start(*, email: str, password: str, name: str, organization_name: str) -> None:
    """Keep the sign-up aside and email a code to the address; nothing exists until the code comes back."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise SignupError("email_taken", _("An account with this email already exists. Sign in instead."), 409)
    code = code_new()
    with transaction.atomic():
        PendingSignup.objects.filter(expires_at__lt=timezone.now()).delete()
        PendingSignup.objects.filter(email=email).delete()
        PendingSignup.objects.create(email=email, name=name, organization_name=organization_name,
                                     password_hash=make_password(password),
                                     code_hash=code_hash(SIGNUP_CODE, email, code),
                                     expires_at=timezone.now() + SIGNUP_CODE_TTL)
    send_mail(subject=_("Your code to create your headshot account"),
              message=_("Your code is %(code)s\n\nIt works once, for 30 minutes, and creates the organization "
                        "%(org)s. If you didn't sign up, ignore this email: nothing is created without the code.\n")
              % {"code": code, "org": organization_name},
              from_email=None, recipient_list=[email])


def signup_verify(*, email: str, code: str) -> tuple[User, Organization]:
    """The emailed code proves the address: the account and its organization are created, the caller owns it."""
    email = email.strip().lower()
    failure = None
    with transaction.atomic():
        pending = (PendingSignup.objects.select_for_update()
                   .filter(email=email, expires_at__gt=timezone.now()).order_by("-created_at").first())
        if pending is None:
            raise SignupError("code_invalid", _("This code is not valid or has expired. Sign up again."))
        if not code_matches(pending.code_hash, SIGNUP_CODE, email, code):
            pending.failed_attempts += 1
            if pending.failed_attempts >= settings.LOGIN_CODE_MAX_ATTEMPTS:
                pending.delete()
                failure = SignupError("code_burnt", _("Too many wrong codes. Sign up again."))
            else:
                pending.save(update_fields=["failed_attempts"])
                failure = SignupError("code_invalid", _("That code is not right. Check the email and try again."))
        elif User.objects.filter(email__iexact=email).exists():
            pending.delete()
            failure = SignupError("email_taken", _("An account with this email already exists. Sign in instead."),
                                  409)
        else:
            user = User(email=email, name=pending.name, password=pending.password_hash)
            user.save()
            organization = organization_create(name=pending.organization_name, owner=user)
            pending.delete()
            return user, organization
    raise failure
