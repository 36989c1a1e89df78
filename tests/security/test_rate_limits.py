"""Rate limits, each hit for real: over the limit the API answers 429 with Retry-After and {"detail", "code"}."""
from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from integrations.auth import ApiKeyRateThrottle
from integrations.directory_api import DirectoryEndpoint
from integrations.services import api_key_create
from tenancy.models import Role
from tests.factories import client_for, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db
LOGIN, SIGNUP = url_of("api:login"), url_of("api:signup")


def assert_throttled(response) -> None:
    assert response.status_code == 429, (response.status_code, getattr(response, "data", response.content))
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "throttled" and "throttled" in body["detail"].lower()


def login(email: str, password: str = "wrong-password-123", ip: str = "10.0.0.1"):
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def test_login_is_limited_per_ip_even_with_the_right_password(org_a, rates):
    rates(login_ip="3/min", login_email="100/min")
    user = make_user(org_a, Role.ADMIN)
    for n in range(3):
        assert login(f"guess{n}@example.com").status_code == 401
    assert_throttled(login(user.email, "correct-horse-battery-9"))
    # Another address is not affected.
    assert login(user.email, "correct-horse-battery-9", ip="10.0.0.2").status_code == 200


def test_login_is_limited_per_email_across_ips(org_a, rates):
    rates(login_ip="100/min", login_email="3/min")
    user = make_user(org_a, Role.ADMIN)
    for n in range(3):
        assert login(user.email.upper(), ip=f"10.0.1.{n}").status_code == 401
    assert_throttled(login(user.email, "correct-horse-battery-9", ip="10.0.1.99"))
    assert login("someone-else@example.com", ip="10.0.1.99").status_code == 401


def test_signup_is_limited_per_ip(db, rates):
    rates(signup="2/hour")
    client = APIClient()
    for n in range(2):
        response = client.post(SIGNUP, {"email": f"founder{n}@example.com", "password": "correct-horse-battery-9",
                                        "organization_name": f"Startup {n}"}, format="json")
        assert response.status_code == 202  # the code is on its way
    assert_throttled(client.post(SIGNUP, {"email": "founder9@example.com", "password": "correct-horse-battery-9",
                                          "organization_name": "Startup 9"}, format="json"))


def test_selfie_uploads_are_limited_per_user_and_listing_is_not(org_a, rates):
    rates(selfie_upload="3/min")
    user, other = make_user(org_a), make_user(org_a)
    make_employee(org_a, user)
    make_employee(org_a, other)
    url = tenant_url("my-selfie-list", org_a)
    client = client_for(user)
    for _ in range(3):
        # An upload without files is refused by the view, after the limiter counted it.
        assert client.post(url, {}, format="multipart").status_code == 400
    assert_throttled(client.post(url, {}, format="multipart"))
    assert client.get(url).status_code == 200
    assert client_for(other).post(url, {}, format="multipart").status_code == 400


def test_the_tenant_api_is_limited_per_user(org_a, rates):
    rates(user="5/min")
    admin, colleague = make_user(org_a, Role.ADMIN), make_user(org_a, Role.ADMIN)
    client = client_for(admin)
    for _ in range(5):
        assert client.get(tenant_url("employee-list", org_a)).status_code == 200
    assert_throttled(client.get(tenant_url("team-list", org_a)))
    assert client_for(colleague).get(tenant_url("employee-list", org_a)).status_code == 200


def test_default_rates_are_generous_for_people_and_tight_for_password_guessing(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates["login_ip"] == "10/min" and rates["login_email"] == "10/min"
    assert rates["selfie_upload"] == "60/min" and rates["user"] == "1200/min"
    assert "config.throttling.UserThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]


def test_the_directory_pull_api_is_limited_per_key(org_a, settings):
    assert ApiKeyRateThrottle in DirectoryEndpoint.throttle_classes
    settings.DIRECTORY_API_RATE = "2/min"
    key = api_key_create(organization=org_a, name="HRIS", scopes=["employees:read"], created_by=None).key
    other = api_key_create(organization=org_a, name="Intranet", scopes=["employees:read"], created_by=None).key
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(2):
        assert client.get(url_of("integrations:directory-employees")).status_code == 200
    directory = url_of("integrations:directory-employees")
    assert_throttled(client.get(directory))
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {other}").get(directory).status_code == 200


def test_portal_email_codes_back_off_per_address_and_ip(org_a, settings):
    settings.LOGIN_CODE_BACKOFF_SECONDS = 30
    user = make_user(org_a, email="dana@acme.example")
    client = Client(REMOTE_ADDR="198.51.100.20")
    for _ in range(5):
        response = client.post(url_of("sso:login"), {"email": user.email})
        # The page never says whether a code went out (no account probing); only the mailbox shows the back-off.
        assert response.status_code == 302 and response["Location"] == url_of("sso:login-code")
    assert len(mail.outbox) == 1
    # Someone else asking from elsewhere neither spends nor shares that back-off.
    Client(REMOTE_ADDR="198.51.100.21").post(url_of("sso:login"), {"email": user.email})
    assert len(mail.outbox) == 2
    assert all(message.to == [user.email] for message in mail.outbox)


def test_one_ip_gets_a_bounded_number_of_codes_over_all_addresses(org_a, settings):
    settings.LOGIN_CODE_MAX_PER_IP_PER_HOUR = 3
    client = Client(REMOTE_ADDR="198.51.100.30")
    for n in range(5):
        make_user(org_a, email=f"p{n}@acme.example")
        client.post(url_of("sso:login"), {"email": f"p{n}@acme.example"})
    assert len(mail.outbox) == 3
