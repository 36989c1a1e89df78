"""Reads of the SCIM endpoints, within the token's organization: its employees as Users, its teams as Groups."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from teams.models import Employee, Team
from tenancy.models import Organization


def scim_users(*, organization: Organization) -> QuerySet[Employee]:
    return Employee.objects.for_organization(organization).select_related("scim", "team")


def scim_user_get(*, organization: Organization, pk: int | None) -> Employee | None:
    """None for a malformed id (pk None), an unused one and another organization's alike."""
    return scim_users(organization=organization).filter(pk=pk).first() if pk is not None else None


def scim_groups(*, organization: Organization) -> QuerySet[Team]:
    return Team.objects.for_organization(organization).select_related("scim")


def scim_group_get(*, organization: Organization, pk: int | None) -> Team | None:
    return scim_groups(organization=organization).filter(pk=pk).first() if pk is not None else None


def scim_group_list(*, organization: Organization) -> QuerySet[Team]:
    """Groups with their members, fetched for the whole page at once, not once per group."""
    members = Prefetch("employees", queryset=Employee.objects.for_organization(organization)
                       .order_by("id").only("id", "team_id"),
                       to_attr="member_list")
    return scim_groups(organization=organization).select_related("organization").prefetch_related(members)
