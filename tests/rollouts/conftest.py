"""Rollout test set-up: a local Ray, the stand-in model in the pool, and organizations of ready employees."""
from __future__ import annotations

import io
import json

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tenancy.models import Role
from tests.factories import grant_consent, make_brand_kit, make_employee, make_user

STANDIN = "tests.ray_cluster.standin:CalibratedStandIn"
VARIANTS = 2


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray for this session (the session's ray_pool fixture, if it runs, shares it and shuts it down)."""
    from django.conf import settings as django_settings

    from ray_cluster.pool import ensure_ray
    from teams.generation import pool_config

    django_settings.RAY_LOCAL_NUM_CPUS = 2
    ensure_ray(pool_config())
    yield


def use_standin(settings, *, delay: float = 0.0, actors: int = 2, cpu: float = 0.0, in_flight: int = 8) -> None:
    """Point the pool at the stand-in model: real actors and real storage, a known time per set."""
    settings.RAY_PIPELINE = STANDIN
    settings.RAY_PIPELINE_OPTIONS = json.dumps({"delay_seconds": delay, "cpu_seconds_per_variant": cpu})
    settings.RAY_NUM_ACTORS = actors
    settings.RAY_NUM_CPUS_PER_ACTOR = 0.25
    settings.ROLLOUT_MAX_IN_FLIGHT = in_flight


@pytest.fixture
def standin(settings, local_ray):
    use_standin(settings)
    return settings


def png_bytes(color=(120, 130, 140)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 40), color).save(buffer, "PNG")
    return buffer.getvalue()


def ready_employee(org, n: int, team=None):
    """An employee with a one-photo selfie set (the org asks for one): enough for the stand-in model."""
    from teams.models import Selfie

    employee = make_employee(org, name=f"Person {n}", email=f"p{n}-{org.pk}@example.com")
    grant_consent(employee)
    if team is not None:
        employee.team = team
        employee.save(update_fields=["team"])
    data = png_bytes((n % 255, 100, 100))
    selfie = Selfie(organization=org, employee=employee, checksum=f"{org.pk:032d}{n:032d}", size_bytes=len(data))
    selfie.file.save("selfie.png", ContentFile(data), save=False)
    selfie.save()
    return employee


@pytest.fixture
def company(org_a):
    """An organization with a brand kit of two small variants, an admin, and its API client."""
    from tests.factories import client_for

    org_a.selfies_required = 1
    org_a.save()
    make_brand_kit(org_a, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256],
                   variants_per_person=VARIANTS)
    admin = make_user(org_a, Role.ADMIN)
    return org_a, admin, client_for(admin), f"/api/v1/orgs/{org_a.slug}"
