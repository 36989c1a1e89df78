"""Contract servers, a service-account key, and an employee with an approved-size headshot for the push tests."""
from __future__ import annotations

import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from tenancy.models import Role
from tests.factories import make_brand_kit, make_employee, make_user

from .servers import BambooHRServer, GoogleServer, GraphServer, SlackServer


@pytest.fixture(autouse=True)
def _connector_settings(settings):
    # Backoff short enough for a test to see a retry happen. The servers below speak plain http on 127.0.0.1, which
    # the egress guard refuses: each fixture allows its own server's exact origin.
    settings.CONNECTOR_HTTP_TIMEOUT = 10.0
    settings.CONNECTOR_BACKOFF_BASE_SECONDS = 1
    settings.CONNECTOR_MAX_ATTEMPTS = 3


@pytest.fixture(scope="session")
def service_account_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def service_account(service_account_key) -> dict:
    pem = service_account_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    # The shape of a key file downloaded from Google Cloud (a throwaway key made for this test run).
    return {"type": "service_account", "project_id": "acme-photos", "private_key_id": "k1", "private_key": pem,
            "client_email": "photos@acme-photos.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}


@pytest.fixture
def graph_server(allow_test_origin):
    with GraphServer() as server:
        allow_test_origin(server.url)
        yield server


@pytest.fixture
def google_server(service_account, service_account_key, allow_test_origin):
    with GoogleServer(client_email=service_account["client_email"],
                      public_key=service_account_key.public_key()) as server:
        allow_test_origin(server.url)
        yield server


@pytest.fixture
def slack_server(settings, allow_test_origin):
    with SlackServer() as server:
        allow_test_origin(server.url)
        settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET = server.client_id, server.client_secret
        settings.SLACK_API_BASE = settings.SLACK_OAUTH_BASE = server.url
        yield server


@pytest.fixture
def bamboohr_server(allow_test_origin):
    with BambooHRServer() as server:
        allow_test_origin(server.url)
        yield server


def portrait_png(size=(1200, 1500)) -> bytes:
    """A portrait master large enough for every destination (Slack wants at least 512 px)."""
    image = Image.new("RGB", size, (31, 78, 121))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.55), fill=(224, 172, 140))
    draw.rectangle((w * 0.2, h * 0.6, w * 0.8, h), fill=(40, 40, 48))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_headshot(employee, *, approved: bool = False, size=(1200, 1500)):
    from teams.models import GenerationRequest, Headshot, RequestStatus

    kit = make_brand_kit(employee.organization)
    request = GenerationRequest.objects.create(organization=employee.organization, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot(organization=employee.organization, request=request, employee=employee,
                        brand_kit_version=kit.current_version, variant="standard",
                        idempotency_key=f"{request.pk}:standard", width=size[0], height=size[1],
                        variant_params={"backend": "studio"}, qc_passed=True, approved=approved)
    headshot.file.save("master.png", ContentFile(portrait_png(size)), save=False)
    headshot.save()
    return headshot


@pytest.fixture
def people(org_a):
    """An admin, an employee with a login (mapped to each destination) and an employee headshot not yet approved."""
    admin = make_user(org_a, Role.ADMIN)
    user = make_user(org_a, Role.EMPLOYEE, email="ada@acme.example")
    employee = make_employee(org_a, user, name="Ada Lovelace", external_id="E-42")
    employee.external_ids = {"bamboohr": "42"}
    employee.save()
    return {"admin": admin, "user": user, "employee": employee, "headshot": make_headshot(employee)}


def sa_json(service_account: dict) -> str:
    return json.dumps(service_account)
