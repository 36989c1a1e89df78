"""The emailed invite link (/invite/<token>) accepts the invite without a password: a code to the invited address."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Invite, User
from accounts.services import invite_create
from sso.models import LoginCode
from sso.services import idp_config_save
from tenancy.models import Membership, Role
from tests.factories import client_for, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def mailed_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


@pytest.fixture
def invited(org_a, django_capture_on_commit_callbacks):
    """An employee invited through the real API; returns (employee, token, path of the emailed link)."""
    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a, email="hana@globex.example", name="Hana")
    with django_capture_on_commit_callbacks(execute=True):  # the invite email goes on commit
        response = client_for(admin).post(tenant_url("employee-invite", org_a, employee.pk))
    assert response.status_code == 201
    link = re.search(r"https?://\S+/invite/\S+", mail.outbox[-1].body).group(0)
    path = "/invite/" + link.rsplit("/invite/", 1)[1]
    # The token travels only by email to the invited address, never back to the inviting admin.
    assert "token" not in response.json() and path.rsplit("/", 1)[1] not in response.content.decode()
    mail.outbox.clear()
    return employee, path.rsplit("/", 1)[1], path


def test_invite_link_accepts_the_invite_with_an_emailed_code(client, org_a, invited):
    employee, token, path = invited
    page = client.get(path)
    assert page.status_code == 200 and org_a.name.encode() in page.content
    assert mail.outbox == []  # opening the link (or a mail scanner fetching it) sends nothing

    sent = client.post(path, {"action": "send"})
    assert sent.status_code == 200 and b'<label for="id_code">' in sent.content
    assert mail.outbox[-1].to == ["hana@globex.example"]

    done = client.post(path, {"code": mailed_code()})

    assert done.status_code == 302 and done["Location"] == url_of("portal:orgs")
    user = User.objects.get(email="hana@globex.example")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert not user.has_usable_password()
    assert Membership.objects.get(organization=org_a, user=user).role == Role.EMPLOYEE
    employee.refresh_from_db()
    assert employee.user == user
    assert Invite.objects.get(employee=employee).accepted_at is not None
    # The link is spent.
    client.logout()
    assert client.get(path).status_code == 410


def test_wrong_code_does_not_accept_and_is_announced(client, invited):
    employee, token, path = invited
    client.post(path, {"action": "send"})
    code = mailed_code()
    response = client.post(path, {"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert response.status_code == 400 and b'role="alert"' in response.content
    assert Invite.objects.get(employee=employee).accepted_at is None
    assert "_auth_user_id" not in client.session


def test_a_sign_in_code_for_the_same_address_does_not_accept_an_invite(client, invited):
    employee, token, path = invited
    client.post(url_of("sso:login"), {"email": "hana@globex.example"})
    assert LoginCode.objects.filter(purpose="login").exists()
    assert client.post(path, {"code": mailed_code()}).status_code == 400
    assert Invite.objects.get(employee=employee).accepted_at is None


def test_expired_invite_link_is_a_clear_410(client, invited):
    employee, token, path = invited
    Invite.objects.filter(employee=employee).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(path)
    assert response.status_code == 410 and b"expired" in response.content
    assert client.post(path, {"action": "send"}).status_code == 410
    assert mail.outbox == []


def test_revoked_invite_link_is_a_clear_410(client, invited):
    employee, token, path = invited
    Invite.objects.filter(employee=employee).update(revoked_at=timezone.now())
    response = client.get(path)
    assert response.status_code == 410 and b"withdrawn" in response.content


def test_expiring_between_code_and_acceptance_refuses(client, invited):
    employee, token, path = invited
    client.post(path, {"action": "send"})
    Invite.objects.filter(employee=employee).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.post(path, {"code": mailed_code()}).status_code == 410
    assert not User.objects.filter(email="hana@globex.example").exists()


def test_unknown_invite_link_is_a_404(client):
    response = client.get(url_of("sso:invite", 'made-up-token'))
    assert response.status_code == 404 and b'role="alert"' in response.content


def test_invite_to_an_sso_organization_points_at_its_sign_in_and_sends_no_code(client, org_a, idp):
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), enabled=True)
    token = invite_create(organization=org_a, email="ivan@globex.example", invited_by=None).token
    page = client.get(url_of("sso:invite", token))
    assert page.status_code == 200 and f'href="{url_of("sso:start", org_a)}"'.encode() in page.content
    client.post(url_of("sso:invite", token), {"action": "send"})
    assert mail.outbox == []
