"""Invite links: a code emailed to the invited address accepts the invite without a password."""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Invite, User
from accounts.services import InviteError, invite_accept_proven, invite_get_pending
from teams.models import Employee

from .email_codes import login_code_check, login_code_issue
from .models import LoginCode
from .services import SsoError


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
