"""Accepting an invite checks a new account's password in the service (one look-up of the invite), and revoking one
goes through teams.invites.invite_revoke."""
from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invite, User
from accounts.services import invite_create
from tenancy.models import Membership, Role
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-enough-passw0rd"
ACCEPT = "api:invite-accept"


def revoke_url(org, invite_id: int) -> str:
    return reverse("api:tenant:invite-detail", kwargs={"org_slug": org.slug, "invite_id": invite_id})


def accept(token: str, password: str):
    return client_for(None).post(reverse(ACCEPT), {"token": token, "password": password}, format="json")


def test_a_weak_password_for_a_new_account_is_refused_and_nothing_is_created(org_a):
    issued = invite_create(organization=org_a, email="new@acme.example", invited_by=None)
    response = accept(issued.token, "123")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["errors"]["password"]
    assert not User.objects.filter(email="new@acme.example").exists()
    issued.invite.refresh_from_db()
    assert issued.invite.accepted_at is None


def test_an_unknown_token_is_refused_as_such_before_the_password_is_judged():
    response = accept("made-up", "123")
    assert response.status_code == 400
    assert response.json()["code"] == "invite_invalid"


def test_an_existing_account_accepts_with_its_own_password_whatever_its_strength(org_a):
    # The validators judge only a password that makes a new account; an existing one proves itself by matching.
    User.objects.create_user("old@acme.example", "123", name="Old")
    issued = invite_create(organization=org_a, email="old@acme.example", invited_by=None)
    response = accept(issued.token, "123")
    assert response.status_code == 200, response.json()
    assert Membership.objects.filter(organization=org_a, user__email="old@acme.example").exists()


def test_a_strong_password_makes_the_account(org_a):
    issued = invite_create(organization=org_a, email="new@acme.example", invited_by=None)
    response = accept(issued.token, PASSWORD)
    assert response.status_code == 200
    assert response.json()["organization"] == org_a.slug
    assert User.objects.get(email="new@acme.example").check_password(PASSWORD)


def test_admin_revokes_a_pending_invite_once(org_a):
    admin = make_user(org_a, Role.ADMIN)
    invite = invite_create(organization=org_a, email="new@acme.example", invited_by=admin).invite
    assert client_for(admin).delete(revoke_url(org_a, invite.pk)).status_code == 204
    invite.refresh_from_db()
    first = invite.revoked_at
    assert first is not None
    assert client_for(admin).delete(revoke_url(org_a, invite.pk)).status_code == 204
    invite.refresh_from_db()
    assert invite.revoked_at == first  # revoking again changes nothing


def test_an_accepted_invite_is_not_revoked(org_a):
    admin = make_user(org_a, Role.ADMIN)
    invite = invite_create(organization=org_a, email="new@acme.example", invited_by=admin).invite
    Invite.objects.filter(pk=invite.pk).update(accepted_at=timezone.now())
    assert client_for(admin).delete(revoke_url(org_a, invite.pk)).status_code == 204
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_another_organizations_admin_cannot_revoke_an_invite(org_a, org_b):
    invite = invite_create(organization=org_a, email="new@acme.example", invited_by=None).invite
    intruder = make_user(org_b, Role.ADMIN)
    assert client_for(intruder).delete(revoke_url(org_b, invite.pk)).status_code == 404
    assert client_for(intruder).delete(revoke_url(org_a, invite.pk)).status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None
