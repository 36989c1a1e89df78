"""Passwordless sign-in with emailed one-time codes: where an address must sign in (its organization's SSO, or a
code), issuing and checking codes with back-off, and the account a right code signs in."""
from __future__ import annotations

import logging
import math
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Invite, User
from config.codes import code_hash, code_matches, code_new
from teams.models import Employee
from tenancy.domains import domain_of, organization_for_verified_domain
from tenancy.models import Organization

from .models import IdentityProviderConfig, LoginCode
from .provisioning import join_organization, require_active, standing_for
from .services import SsoError, idp_config_get

logger = logging.getLogger(__name__)


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
        require_active(user)
    sso_org_ids = set(IdentityProviderConfig.objects.filter(enabled=True).values_list("organization_id", flat=True))
    orgs = {e.organization for e in Employee.objects.filter(email__iexact=email, active=True, user__isnull=True)
            .select_related("organization") if e.organization_id not in sso_org_ids}
    orgs |= {i.organization for i in Invite.objects.filter(email__iexact=email, accepted_at__isnull=True,
                                                           revoked_at__isnull=True, expires_at__gt=timezone.now())
             .select_related("organization") if i.organization_id not in sso_org_ids}
    for organization in sorted(orgs, key=lambda o: o.pk):
        standing = standing_for(organization, email, None)
        if user is None:
            user = User.objects.create_user(email, None, name=standing.employee.name if standing.employee else "")
        join_organization(organization=organization, user=user, email=email, standing=standing, name="")
    if user is None:
        raise SsoError("code_invalid", _("This code is not valid. Ask for a new one."))
    return user
