"""Account writes: invite creation and acceptance. One function per change."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tenancy.models import Membership, Organization, Role

from .models import Invite, User, hash_token


class InviteError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    # The plain token exists only here, at creation; it goes into the invite link and is never stored.
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
        raise InviteError("invite_invalid", "This invite link is not valid.")
    if invite.accepted_at is not None:
        raise InviteError("invite_used", "This invite has already been used. Sign in instead.")
    if invite.revoked_at is not None:
        raise InviteError("invite_revoked", "This invite was withdrawn. Ask your HR team for a new one.")
    if invite.expires_at <= timezone.now():
        raise InviteError("invite_expired", "This invite has expired. Ask your HR team for a new one.")
    return invite


@transaction.atomic
def invite_accept(*, token: str, password: str | None, name: str = "") -> User:
    """Turn a valid invite into a user with a membership. The token works once, before it expires."""
    invite = invite_get_pending(token=token, for_update=True)
    user = User.objects.filter(email=invite.email).first()
    if user is None:
        user = User.objects.create_user(invite.email, password, name=name)
    Membership.objects.get_or_create(organization=invite.organization, user=user, defaults={"role": invite.role})
    if invite.employee_id is not None and invite.employee.user_id is None:
        invite.employee.user = user
        invite.employee.save(update_fields=["user"])
    invite.accepted_at = timezone.now()
    invite.save(update_fields=["accepted_at"])
    return user


def invite_accept_passwordless(*, token: str, name: str = "") -> User:
    """Accept an invite for someone who proved they own its address (emailed code, SSO): no password is set."""
    return invite_accept(token=token, password=None, name=name)
