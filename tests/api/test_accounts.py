"""Sign-up, email login and invites that expire and work once."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Invite, User
from teams.models import Employee
from tenancy.models import Membership, Role
from tests.factories import client_for, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-enough-passw0rd"


def mailed(pattern: str, to: str) -> str:
    """The last email to `to`, matched by a regular expression with one group."""
    message = [m for m in mail.outbox if m.to == [to]][-1]
    return re.search(pattern, message.body).group(1)


def signup(email: str, organization_name: str = "X", password: str = PASSWORD):
    """Both steps: the sign-up, then the code from the email."""
    started = client_for(None).post(url_of("api:signup"), {"email": email, "password": password,
                                                            "organization_name": organization_name}, format="json")
    assert started.status_code == 202, started.content
    return client_for(None).post(url_of("api:signup-verify"),
                                 {"email": email, "code": mailed(r"\b(\d{6})\b", email.lower())}, format="json")


def test_hr_admin_signs_up_with_a_new_organization_and_logs_in_by_email():
    started = client_for(None).post(url_of("api:signup"), {
        "email": "HR@Acme.example", "password": PASSWORD, "organization_name": "Acme Inc"}, format="json")
    assert started.status_code == 202, started.content
    # Nothing exists until the emailed code proves the address.
    assert not Membership.objects.exists() and not User.objects.filter(email="hr@acme.example").exists()
    code = mailed(r"\b(\d{6})\b", "hr@acme.example")
    wrong = client_for(None).post(url_of("api:signup-verify"), {"email": "hr@acme.example",
                                                                 "code": "000000" if code != "000000" else "111111"},
                                  format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "code_invalid"
    response = client_for(None).post(url_of("api:signup-verify"), {"email": "hr@acme.example", "code": code},
                                     format="json")
    assert response.status_code == 201, response.content
    assert response.json()["organization"] == "acme-inc"
    membership = Membership.objects.get(user__email="hr@acme.example")
    assert membership.role == Role.OWNER
    login = client_for(None).post(url_of("api:login"), {"email": "hr@acme.example", "password": PASSWORD},
                                  format="json")
    assert login.status_code == 200 and login.json()["token"]


def test_a_signup_code_works_once_and_for_its_address_only():
    client_for(None).post(url_of("api:signup"), {"email": "a@b.example", "password": PASSWORD,
                                                  "organization_name": "X"}, format="json")
    code = mailed(r"\b(\d{6})\b", "a@b.example")
    other = client_for(None).post(url_of("api:signup-verify"), {"email": "c@b.example", "code": code},
                                  format="json")
    assert other.status_code == 400
    ok = client_for(None).post(url_of("api:signup-verify"), {"email": "a@b.example", "code": code}, format="json")
    assert ok.status_code == 201
    again = client_for(None).post(url_of("api:signup-verify"), {"email": "a@b.example", "code": code},
                                  format="json")
    assert again.status_code == 400 and User.objects.filter(email="a@b.example").count() == 1


def test_wrong_password_is_a_401_with_a_message():
    assert signup("a@b.example").status_code == 201
    response = client_for(None).post(url_of("api:login"), {"email": "a@b.example", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert "wrong" in response.json()["detail"]


def test_weak_password_is_refused_at_signup():
    response = client_for(None).post(url_of("api:signup"), {"email": "a@b.example", "password": "123",
                                                             "organization_name": "X"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def invite(org, admin, employee):
    return client_for(admin).post(tenant_url("employee-invite", org, employee.pk))


def test_invited_employee_accepts_once_and_is_linked_to_their_record(org_a, django_capture_on_commit_callbacks):
    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a, email="lin@acme.example", name="Lin")
    with django_capture_on_commit_callbacks(execute=True):  # the email goes once the invite is committed
        response = invite(org_a, admin, employee)
    assert response.status_code == 201
    assert "token" not in response.json()  # only the invited address gets the link
    token = mailed(r"/invite/(\S+)", "lin@acme.example")
    assert len(mail.outbox) == 1
    assert Invite.objects.get().token_hash != token  # only the hash is stored

    accepted = client_for(None).post(url_of("api:invite-accept"), {"token": token, "password": PASSWORD}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["organization"] == org_a.slug
    assert Employee.objects.get(pk=employee.pk).user.email == "lin@acme.example"

    again = client_for(None).post(url_of("api:invite-accept"), {"token": token, "password": PASSWORD}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invite_used"


def test_an_expired_invite_is_refused(org_a, django_capture_on_commit_callbacks):
    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a)
    with django_capture_on_commit_callbacks(execute=True):
        invite(org_a, admin, employee)
    token = mailed(r"/invite/(\S+)", employee.email)
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(None).post(url_of("api:invite-accept"), {"token": token, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invite_expired"
    assert not Membership.objects.filter(role=Role.EMPLOYEE).exists()


def test_a_revoked_invite_is_refused(org_a, django_capture_on_commit_callbacks):
    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a)
    with django_capture_on_commit_callbacks(execute=True):
        issued = invite(org_a, admin, employee).json()
    token = mailed(r"/invite/(\S+)", employee.email)
    assert client_for(admin).delete(tenant_url("invite-detail", org_a, issued['id'])).status_code == 204
    response = client_for(None).post(url_of("api:invite-accept"), {"token": token, "password": PASSWORD},
                                     format="json")
    assert response.json()["code"] == "invite_revoked"


def test_an_unknown_invite_token_is_refused():
    response = client_for(None).post(url_of("api:invite-accept"), {"token": "made-up", "password": PASSWORD},
                                     format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invite_invalid"
