"""A fully populated organization (every kind of tenant object) for API and isolation tests."""
from __future__ import annotations

import importlib
import io
import pkgutil
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from accounts.services import invite_create
from teams.models import GenerationRequest, Headshot, RequestStatus, Selfie
from tenancy.models import Role
from tests.factories import make_brand_kit, make_employee, make_user


def png_bytes(color=(120, 130, 140), size=(64, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Tenant:
    org: object
    admin: object
    employee_user: object
    employee: object
    kit: object
    invite: object
    selfie: object
    request: object
    headshot: object
    rollout: object = None
    # Objects that other apps add through tests/api/tenant_objects/<app>.py, by their URL parameter name.
    extra: dict = field(default_factory=dict)

    def ids(self) -> dict[str, int]:
        return {"kit_id": self.kit.pk, "employee_id": self.employee.pk, "invite_id": self.invite.pk,
                "selfie_id": self.selfie.pk, "request_id": self.request.pk, "headshot_id": self.headshot.pk,
                "rollout_id": self.rollout.pk, **{key: obj.pk for key, obj in self.extra.items()}}


def _populate_hooks():
    """Each module in tests/api/tenant_objects/ has populate(tenant) -> {url_parameter: object}."""
    from tests.api import tenant_objects

    for info in sorted(pkgutil.iter_modules(tenant_objects.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{tenant_objects.__name__}.{info.name}").populate


def populate(org) -> Tenant:
    """Rows made directly (no models run): enough for permission and isolation checks."""
    admin = make_user(org, Role.ADMIN)
    employee_user = make_user(org, Role.EMPLOYEE)
    employee = make_employee(org, employee_user)
    kit = make_brand_kit(org)
    invite = invite_create(organization=org, email="new@example.com", invited_by=admin).invite
    data = png_bytes()
    selfie = Selfie(organization=org, employee=employee, checksum=f"{org.pk:064d}", size_bytes=len(data))
    selfie.file.save("selfie.png", ContentFile(data), save=False)
    selfie.save()
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    request.selfies.set([selfie])
    headshot = Headshot(organization=org, request=request, employee=employee, brand_kit_version=kit.current_version,
                        source_selfie=selfie, variant="standard", idempotency_key=f"{request.pk}:{selfie.pk}:standard",
                        width=64, height=80, qc={"identity_distance": 0.3}, qc_passed=True)
    headshot.file.save("h.png", ContentFile(data), save=False)
    from django.core.files.storage import default_storage

    headshot.renditions = {"64": default_storage.save(f"orgs/{org.pk}/h-64.jpg", ContentFile(data))}
    headshot.save()
    from rollouts.models import Rollout, RolloutRequest

    rollout = Rollout.objects.create(organization=org, scope="all", status="paused", created_by=admin)
    RolloutRequest.objects.create(organization=org, rollout=rollout, request=request)
    tenant = Tenant(org, admin, employee_user, employee, kit, invite, selfie, request, headshot, rollout)
    for hook in _populate_hooks():
        tenant.extra.update(hook(tenant))
    return tenant


@pytest.fixture
def tenant_a(org_a) -> Tenant:
    return populate(org_a)


@pytest.fixture
def tenant_b(org_b) -> Tenant:
    return populate(org_b)
