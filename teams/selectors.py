"""Reads of the teams app, always within one organization: the API and other apps look people and headshots up
here instead of building querysets in views."""
from __future__ import annotations

from django.db.models import QuerySet

from tenancy.models import Organization

from .models import Employee, GenerationRequest, Headshot, Team


def employee_of_user(*, organization: Organization, user) -> Employee | None:
    """The signed-in person's own employee record in this organization, if they have one."""
    return Employee.objects.for_organization(organization).filter(user=user).first()


def employee_get(*, organization: Organization, employee_id: int) -> Employee | None:
    """None for an unused id and for another organization's alike: ids of other tenants stay opaque."""
    return Employee.objects.for_organization(organization).filter(pk=employee_id).first()


def employee_list(*, organization: Organization) -> QuerySet[Employee]:
    return Employee.objects.for_organization(organization).select_related("team", "manager")


def team_get(*, organization: Organization, team_id: int) -> Team | None:
    return Team.objects.for_organization(organization).filter(pk=team_id).first()


def generation_request_list(*, organization: Organization, user=None) -> QuerySet[GenerationRequest]:
    """The organization's requests, or only those of `user`'s own employee record."""
    requests = GenerationRequest.objects.for_organization(organization)
    if user is not None:
        requests = requests.filter(employee__user=user)
    return requests.select_related("brand_kit_version")


def headshot_list(*, organization: Organization, employee_id: int | None = None, approved: bool | None = None,
                  qc_passed: bool | None = None) -> QuerySet[Headshot]:
    """The organization's headshots, narrowed by whichever filters are given."""
    headshots = Headshot.objects.for_organization(organization).select_related("brand_kit_version")
    if employee_id is not None:
        headshots = headshots.filter(employee_id=employee_id)
    if approved is not None:
        headshots = headshots.filter(approved=approved)
    if qc_passed is not None:
        headshots = headshots.filter(qc_passed=qc_passed)
    return headshots


def my_headshot_list(*, organization: Organization, user) -> QuerySet[Headshot]:
    """What an employee's gallery shows: their headshots that passed quality control, best-ranked first."""
    return (Headshot.objects.for_organization(organization).filter(employee__user=user, qc_passed=True)
            .select_related("brand_kit_version").order_by("request_id", "rank", "id"))
