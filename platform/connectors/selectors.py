"""Reads of the connectors app, always within one organization: photo pushes and an employee's Slack link."""
from __future__ import annotations

from django.db.models import QuerySet

from teams.models import Employee
from tenancy.models import Organization

from .models import Connection, Destination, PhotoSync, SlackConnection


def connection_list(*, organization: Organization) -> QuerySet[Connection]:
    return Connection.objects.for_organization(organization).order_by("kind")


def photo_sync_list(*, organization: Organization, status: str | None = None, destination: str | None = None,
                    employee_id: int | None = None) -> QuerySet[PhotoSync]:
    """Where each employee's approved photo stands at each destination, by employee, narrowed by the filters."""
    syncs = (PhotoSync.objects.for_organization(organization).select_related("employee")
             .order_by("employee__name", "employee_id", "destination"))
    if status:
        syncs = syncs.filter(status=status)
    if destination:
        syncs = syncs.filter(destination=destination)
    if employee_id is not None:
        syncs = syncs.filter(employee_id=employee_id)
    return syncs


def slack_link_of(*, organization: Organization, employee: Employee) -> tuple[SlackConnection | None, PhotoSync | None]:
    """The employee's Slack link and the push of their photo to Slack (each None when there is none)."""
    link = SlackConnection.objects.for_organization(organization).filter(employee=employee).first()
    sync = PhotoSync.objects.for_organization(organization).filter(
        employee=employee, destination=Destination.SLACK).first()
    return link, sync
