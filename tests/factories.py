"""Factories: small functions that make valid tenant-owned objects through the real services."""
from __future__ import annotations

import itertools

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from brand_kits.services import brand_kit_create
from teams.models import Employee
from tenancy.models import Membership, Organization, Role

_n = itertools.count(1)


def make_org(name: str | None = None, **fields) -> Organization:
    i = next(_n)
    name = name or f"Org {i}"
    return Organization.objects.create(name=name, slug=f"org-{i}", **fields)


def make_user(organization: Organization, role: str = Role.EMPLOYEE, email: str | None = None) -> User:
    user = User.objects.create_user(email or f"user{next(_n)}@example.com", "correct-horse-battery-9")
    Membership.objects.create(organization=organization, user=user, role=role)
    return user


def make_employee(organization: Organization, user: User | None = None, name: str = "Ada Employee",
                  email: str | None = None, external_id: str = "") -> Employee:
    return Employee.objects.create(organization=organization, user=user, name=name,
                                   email=email or (user.email if user else f"emp{next(_n)}@example.com"),
                                   external_id=external_id or f"E{next(_n):05d}")


def grant_consent(employee: Employee, user: User | None = None):
    """The employee agrees to the current consent text (nothing biometric is processed before that)."""
    from consent.services import consent_grant

    return consent_grant(employee=employee, user=user or employee.user, ip="127.0.0.1", user_agent="tests",
                         channel="api")


def make_brand_kit(organization: Organization, **spec):
    spec = spec or {"background": {"kind": "solid", "color": "#1f4e79"}}
    return brand_kit_create(organization=organization, name="Corporate", spec=spec)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def verify_domain(organization: Organization, domain: str):
    """The organization has proven it controls `domain` (what tenancy.domains.domain_verify ends with)."""
    import secrets

    from django.utils import timezone

    from tenancy.models import OrganizationDomain

    return OrganizationDomain.objects.create(organization=organization, domain=domain, token=secrets.token_hex(8),
                                             verified_at=timezone.now())
