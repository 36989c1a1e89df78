"""Tenant reads shared by the apps."""
from __future__ import annotations

from .models import Membership


def membership_for(user, organization_slug: str | None) -> Membership | None:
    """The account's membership of the organization with this slug (its organization loaded with it), or None
    when there is no account, no slug, or no such membership.

    Only the lookup: it doesn't judge the account. Whether the membership opens the organization on this request
    (an active account, a sign-in that counts there) is tenancy.access.membership_resolve's decision."""
    if user is None or getattr(user, "pk", None) is None or not organization_slug:
        return None
    return (Membership.objects.select_related("organization")
            .filter(organization__slug=organization_slug, user=user).first())
