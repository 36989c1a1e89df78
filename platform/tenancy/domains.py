"""Verified email domains: an organization proves it controls a domain (a DNS TXT record, or a code sent to an
administrative mailbox at the domain) before the domain routes sign-ins or creates accounts just in time.
One domain is verified for one organization at most."""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Protocol

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record_in_transaction
from config.codes import code_hash, code_matches, code_new
from config.errors import ServiceError

from .models import Organization, OrganizationDomain

log = logging.getLogger(__name__)

DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TXT_NAME_PREFIX = "_headshots-verification"
TXT_VALUE_PREFIX = "headshots-domain-verification="
# The CA/Browser Forum's "constructed email to domain contact" mailboxes: only the domain's administrators read
# these, whereas any user of a mail provider can read their own mailbox at its domain.
ADMIN_MAILBOXES = ("admin", "administrator", "hostmaster", "postmaster", "webmaster")
# Shared mail providers: nobody's company, so no organization may claim them.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de",
    "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "fastmail.com",
})
CODE_TTL = timedelta(minutes=30)
CODE_MAX_ATTEMPTS = 5


class DomainClaimError(ServiceError):
    """A domain claim or its verification was refused."""


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """The TXT strings published at `name` ([] when there are none); DomainClaimError when DNS can't answer."""


class DnsPythonResolver:
    """The system's DNS resolvers, through dnspython."""

    def txt(self, name: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=settings.DOMAIN_VERIFICATION_DNS_TIMEOUT_SECONDS)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            log.warning("TXT lookup of %s failed: %s", name, exc)
            raise DomainClaimError("dns_unavailable", _("DNS didn't answer for %(name)s. Try again in a few "
                                                        "minutes.") % {"name": name}, 503) from None
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


# Replaced in tests by a fake that answers from a dict.
resolver: TxtResolver = DnsPythonResolver()


def txt_record_name(claim: OrganizationDomain) -> str:
    return f"{TXT_NAME_PREFIX}.{claim.domain}"


def txt_record_value(claim: OrganizationDomain) -> str:
    return f"{TXT_VALUE_PREFIX}{claim.token}"


def domain_normalize(raw: str) -> str:
    domain = str(raw or "").strip().lower().lstrip("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if not DOMAIN_PATTERN.match(domain):
        raise DomainClaimError("domain_invalid", _("%(domain)s is not a domain name like example.com.")
                               % {"domain": str(raw)[:260]})
    return domain


DOMAIN_CODE = "tenancy.domain_code"


def _code_subject(claim: OrganizationDomain) -> str:
    return f"{claim.pk}:{claim.domain}"


def _send_code(claim: OrganizationDomain) -> None:
    code = code_new()
    claim.code_hash = code_hash(DOMAIN_CODE, _code_subject(claim), code)
    claim.code_expires_at = timezone.now() + CODE_TTL
    claim.code_failed_attempts = 0
    claim.save(update_fields=["code_hash", "code_expires_at", "code_failed_attempts"])
    organization_name, address = claim.organization.name, claim.verification_email
    transaction.on_commit(lambda: send_mail(
        subject=_("Verify %(domain)s for %(org)s") % {"domain": claim.domain, "org": organization_name},
        message=_("%(org)s asks to verify that it controls %(domain)s, so that people with addresses at this "
                  "domain sign in through it.\n\nThe code is %(code)s (valid for 30 minutes).\n\nIf you don't "
                  "know %(org)s, ignore this email: nothing changes without the code.\n")
        % {"org": organization_name, "domain": claim.domain, "code": code},
        from_email=None, recipient_list=[address]))


@transaction.atomic
def domain_claim(*, organization: Organization, domain: str, method: str = OrganizationDomain.Method.DNS,
                 mailbox: str = "", actor=None) -> OrganizationDomain:
    """Claim a domain for the organization: pending until verified (DNS TXT record, or a code by email)."""
    domain = domain_normalize(domain)
    if method not in OrganizationDomain.Method.values:
        raise DomainClaimError("method_invalid", _("method must be dns or email."))
    if domain in PUBLIC_MAIL_DOMAINS:
        raise DomainClaimError("domain_public", _("%(domain)s is a public email provider; only a company's own "
                                                  "domain can be verified.") % {"domain": domain})
    if OrganizationDomain.objects.filter(domain=domain, verified_at__isnull=False).exists():
        # Says no more than that: which organization holds it is none of the caller's business.
        raise DomainClaimError("domain_taken", _("%(domain)s is already verified by another organization.")
                               % {"domain": domain}, 409)
    if OrganizationDomain.objects.for_organization(organization).filter(domain=domain).exists():
        raise DomainClaimError("domain_claimed", _("This organization already claims %(domain)s.")
                               % {"domain": domain}, 409)
    mailbox = (mailbox or "").strip().lower()
    if method == OrganizationDomain.Method.EMAIL and mailbox not in ADMIN_MAILBOXES:
        raise DomainClaimError("mailbox_invalid", _("The code goes to an administrative mailbox at the domain: "
                                                    "one of %(boxes)s.") % {"boxes": ", ".join(ADMIN_MAILBOXES)})
    claim = OrganizationDomain.objects.create(
        organization=organization, domain=domain, method=method, token=secrets.token_urlsafe(24),
        verification_email=f"{mailbox}@{domain}" if method == OrganizationDomain.Method.EMAIL else "",
        created_by=actor)
    if method == OrganizationDomain.Method.EMAIL:
        _send_code(claim)
    record_in_transaction(action="domain.claimed", organization=organization, actor=actor, object=claim,
                          detail={"domain": domain, "method": method})
    return claim


def domain_code_resend(*, claim: OrganizationDomain) -> OrganizationDomain:
    if claim.method != OrganizationDomain.Method.EMAIL or claim.verified_at:
        raise DomainClaimError("no_code", _("This domain isn't waiting for an emailed code."))
    with transaction.atomic():
        _send_code(claim)
    return claim


def domain_verify(*, claim: OrganizationDomain, code: str = "", actor=None) -> OrganizationDomain:
    """Check the proof; on success the domain counts for this organization (and for no other)."""
    if claim.verified_at:
        return claim
    now = timezone.now()
    if claim.method == OrganizationDomain.Method.DNS:
        name, expected = txt_record_name(claim), txt_record_value(claim)
        found = [value.strip() for value in resolver.txt(name)]
        claim.last_checked_at = now
        claim.save(update_fields=["last_checked_at"])
        if expected not in found:
            raise DomainClaimError("txt_not_found", _("No TXT record %(value)s at %(name)s yet. DNS changes can "
                                                      "take a while to show; try again later.")
                                   % {"value": expected, "name": name})
    else:
        with transaction.atomic():
            locked = OrganizationDomain.objects.select_for_update().get(pk=claim.pk)
            if not locked.code_hash or locked.code_expires_at is None or locked.code_expires_at <= now:
                raise DomainClaimError("code_expired", _("This code has expired. Ask for a new one."))
            if not code_matches(locked.code_hash, DOMAIN_CODE, _code_subject(locked), code):
                locked.code_failed_attempts += 1
                if locked.code_failed_attempts >= CODE_MAX_ATTEMPTS:
                    locked.code_hash = ""
                locked.save(update_fields=["code_failed_attempts", "code_hash"])
                failure = DomainClaimError("code_invalid", _("That code is not right."))
            else:
                failure = None
        if failure is not None:
            raise failure
    try:
        with transaction.atomic():
            claim.verified_at, claim.code_hash = now, ""
            claim.save(update_fields=["verified_at", "code_hash"])
            record_in_transaction(action="domain.verified", organization=claim.organization_id, actor=actor,
                                  object=claim, detail={"domain": claim.domain, "method": claim.method})
    except IntegrityError:
        claim.verified_at = None
        raise DomainClaimError("domain_taken", _("%(domain)s is already verified by another organization.")
                               % {"domain": claim.domain}, 409) from None
    except Exception:  # e.g. the audit write failed: nothing was verified
        claim.verified_at = None
        raise
    return claim


@transaction.atomic
def domain_delete(*, claim: OrganizationDomain, actor=None) -> None:
    record_in_transaction(action="domain.removed", organization=claim.organization_id, actor=actor, object=claim,
                          detail={"domain": claim.domain})
    claim.delete()


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def verified_domains(organization: Organization) -> set[str]:
    return set(OrganizationDomain.objects.for_organization(organization).filter(verified_at__isnull=False)
               .values_list("domain", flat=True))


def organization_for_verified_domain(domain: str) -> Organization | None:
    claim = (OrganizationDomain.objects.select_related("organization")
             .filter(domain=domain.lower(), verified_at__isnull=False).first())
    return claim.organization if claim else None
