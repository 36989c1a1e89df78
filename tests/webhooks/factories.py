"""Just enough of an organization for webhook tests: an admin, an employee with a stored headshot to approve."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.files.base import ContentFile

from teams.employees import team_get_or_create
from teams.models import GenerationRequest, Headshot, RequestStatus
from tenancy.models import Role
from tests.factories import make_brand_kit, make_employee, make_org, make_user


@dataclass
class Org:
    org: object
    admin: object
    employee_user: object
    employee: object
    request: object
    headshot: object


def make_webhook_org(name: str) -> Org:
    org = make_org(name)
    admin = make_user(org, Role.ADMIN)
    employee_user = make_user(org, Role.EMPLOYEE)
    employee = make_employee(org, employee_user, name="Grace Hopper", external_id=f"HR-{org.pk}")
    employee.team = team_get_or_create(organization=org, name="Research")
    employee.save()
    kit = make_brand_kit(org)
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE,
                                               progress_total=1, progress_done=1)
    headshot = Headshot(organization=org, request=request, employee=employee, brand_kit_version=kit.current_version,
                        variant="standard", idempotency_key=f"{request.pk}:standard", width=64, height=80,
                        qc={"identity_distance": 0.31}, qc_passed=True)
    headshot.file.save("h.png", ContentFile(b"\x89PNG not really"), save=False)
    headshot.save()
    return Org(org, admin, employee_user, employee, request, headshot)
