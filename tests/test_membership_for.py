"""tenancy.selectors.membership_for: the one lookup of an account's membership by organization slug, which the
portals, the tenant API (both through tenancy.access.membership_resolve) and the audit middleware share."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from tenancy.access import membership_resolve
from tenancy.models import Role
from tenancy.selectors import membership_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_membership_with_its_organization_only_in_the_slugs_organization(org_a, org_b,
                                                                                django_assert_num_queries):
    user = make_user(org_a, Role.ADMIN)
    with django_assert_num_queries(1):
        membership = membership_for(user, org_a.slug)
        assert membership.organization == org_a and membership.role == Role.ADMIN
    assert membership_for(user, org_b.slug) is None
    assert membership_for(user, "no-such-organization") is None
    assert membership_for(user, "") is None and membership_for(user, None) is None
    assert membership_for(None, org_a.slug) is None and membership_for(AnonymousUser(), org_a.slug) is None


def test_a_deactivated_account_is_still_found_but_never_let_in(org_a):
    user = make_user(org_a, Role.EMPLOYEE)
    user.is_active = False
    user.save(update_fields=["is_active"])
    # The audit middleware still files a deactivated member's attempt under the organization ...
    assert membership_for(user, org_a.slug).organization == org_a
    # ... while access refuses it (a 404 to the caller, like a stranger).
    request = RequestFactory().get("/")
    request.session = {}
    assert membership_resolve(request=request, user=user, organization_slug=org_a.slug) is None
