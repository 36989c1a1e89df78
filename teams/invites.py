"""Inviting employees: issue and email one, remind people who haven't uploaded, revoke pending ones.

One place for the invite email, used by the invite API, the admin portal and SCIM provisioning.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Invite, User
from accounts.services import IssuedInvite, invite_create
from tenancy.models import Role

from .errors import TeamsError
from .models import Employee


def invite_email_send(*, employee: Employee, issued: IssuedInvite) -> str:
    """Email the invite link to the employee; returns the link."""
    organization = employee.organization
    accept_url = f"{settings.PUBLIC_BASE_URL}/invite/{issued.token}"
    send_mail(
        subject=f"{organization.name}: your professional headshot",
        message=(f"Hello {employee.name},\n\n{organization.name} invites you to make your professional "
                 f"headshot. Open this link within {settings.INVITE_TTL_HOURS} hours:\n\n{accept_url}\n"),
        from_email=None, recipient_list=[employee.email])
    return accept_url


def pending_invites(employee: Employee):
    return Invite.objects.for_organization(employee.organization).filter(
        employee=employee, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def employee_invite_send(*, employee: Employee, invited_by: User | None) -> IssuedInvite:
    """A fresh invite for the employee, emailed on commit.

    Only a token's hash is stored, so an earlier link can't be sent again: a new invite replaces any pending one
    (which is revoked), and exactly one link works at a time.
    """
    if not employee.active:
        raise TeamsError("employee_inactive", _("%(email)s is deactivated: reactivate them before inviting.")
                         % {"email": employee.email}, 409)
    with transaction.atomic():
        pending_invites(employee).update(revoked_at=timezone.now())
        issued = invite_create(organization=employee.organization, email=employee.email, role=Role.EMPLOYEE,
                               invited_by=invited_by, employee=employee)
        transaction.on_commit(lambda: invite_email_send(employee=employee, issued=issued))
    return issued


def upload_reminder_send(*, employee: Employee) -> None:
    """Remind someone who already has an account that their selfies are still missing."""
    organization = employee.organization
    portal_url = f"{settings.PUBLIC_BASE_URL}/app/{organization.slug}/"
    send_mail(
        subject=f"{organization.name}: your professional headshot is waiting",
        message=(f"Hello {employee.name},\n\nA reminder from {organization.name}: upload a few selfies to get your "
                 f"professional headshot. Sign in here:\n\n{portal_url}\n"),
        from_email=None, recipient_list=[employee.email])


@dataclass
class Reminded:
    invited: list[Employee] = field(default_factory=list)   # got a fresh invite link
    reminded: list[Employee] = field(default_factory=list)  # have an account: got a reminder to upload


def remind_not_uploaded(*, employees, invited_by: User | None) -> Reminded:
    """Nudge each of these employees (who haven't uploaded): a new invite link without an account, else a reminder."""
    result = Reminded()
    for employee in employees:
        if employee.user_id is None:
            employee_invite_send(employee=employee, invited_by=invited_by)
            result.invited.append(employee)
        else:
            transaction.on_commit(lambda employee=employee: upload_reminder_send(employee=employee))
            result.reminded.append(employee)
    return result


def employee_invites_revoke(*, employee: Employee) -> int:
    """Withdraw the employee's unused invites; returns how many were pending."""
    return pending_invites(employee).update(revoked_at=timezone.now())


def invite_revoke(*, invite: Invite) -> Invite:
    """Withdraw one invite that hasn't been used yet; an accepted or already revoked one stays as it is."""
    if invite.accepted_at is None and invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite
