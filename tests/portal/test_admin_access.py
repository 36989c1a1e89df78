"""The admin portal's Access page: members and roles, verified domains; the same services and rules as the API."""
from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from tenancy import domains
from tenancy.models import Membership, OrganizationDomain, Role
from tests.factories import make_user, verify_domain
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def access(org) -> str:
    return url_of("portal:admin-access", org)


@pytest.fixture
def owner(org_a):
    return make_user(org_a, Role.OWNER, email="owner@acme.example")


def test_owner_grants_admin_to_a_colleague_and_the_page_shows_it(org_a, owner):
    colleague = make_user(org_a, Role.EMPLOYEE, email="colleague@acme.example")
    member = Membership.objects.get(organization=org_a, user=colleague)
    client = signed_in(owner)
    page = client.get(access(org_a))
    assert page.status_code == 200 and b"colleague@acme.example" in page.content
    saved = client.post(f"{access(org_a)}members/{member.pk}", {"role": "admin"})
    assert saved.status_code == 302
    assert Membership.objects.get(pk=member.pk).role == Role.ADMIN
    assert "Admin" in client.get(access(org_a)).content.decode()


def test_an_admin_cannot_make_an_owner_and_the_last_owner_stays(org_a, owner):
    admin = make_user(org_a, Role.ADMIN)
    colleague = make_user(org_a, Role.EMPLOYEE)
    client = signed_in(admin)
    member = Membership.objects.get(organization=org_a, user=colleague)
    client.post(f"{access(org_a)}members/{member.pk}", {"role": "owner"})
    assert Membership.objects.get(pk=member.pk).role == Role.EMPLOYEE
    owner_member = Membership.objects.get(organization=org_a, user=owner)
    client.post(f"{access(org_a)}members/{owner_member.pk}", {"role": "employee"})
    as_owner = signed_in(owner)
    as_owner.post(f"{access(org_a)}members/{owner_member.pk}", {"role": "admin"})
    assert Membership.objects.get(pk=owner_member.pk).role == Role.OWNER
    page = as_owner.get(access(org_a))  # the refusal is shown with its reason
    assert b"last owner" in page.content


def test_another_organizations_member_or_domain_is_404(org_a, org_b, owner):
    other = Membership.objects.get(user=make_user(org_b, Role.EMPLOYEE))
    claim = verify_domain(org_b, "globex.example")
    client = signed_in(owner)
    assert client.post(f"{access(org_a)}members/{other.pk}", {"role": "admin"}).status_code == 404
    assert client.post(f"{access(org_a)}domains/{claim.pk}", {"action": "remove"}).status_code == 404
    assert Membership.objects.get(pk=other.pk).role == Role.EMPLOYEE
    assert OrganizationDomain.objects.filter(pk=claim.pk).exists()


def test_a_domain_is_verified_from_its_dns_record(org_a, owner, monkeypatch):
    records: dict[str, list[str]] = {}

    class Zone:
        def txt(self, name):
            return records.get(name, [])

    monkeypatch.setattr(domains, "resolver", Zone())
    client = signed_in(owner)
    client.post(f"{access(org_a)}domains", {"domain": "acme.example", "method": "dns"})
    claim = OrganizationDomain.objects.get(organization=org_a)
    page = client.get(access(org_a)).content.decode()
    assert domains.txt_record_value(claim) in page and "Waiting for proof" in page
    client.post(f"{access(org_a)}domains/{claim.pk}", {})
    assert OrganizationDomain.objects.get(pk=claim.pk).verified_at is None
    records[domains.txt_record_name(claim)] = [domains.txt_record_value(claim)]
    client.post(f"{access(org_a)}domains/{claim.pk}", {})
    assert OrganizationDomain.objects.get(pk=claim.pk).verified_at is not None
    assert "Verified" in client.get(access(org_a)).content.decode()


def test_a_domain_is_verified_with_the_code_sent_to_its_postmaster(org_a, owner, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{access(org_a)}domains", {"domain": "acme.example", "method": "email", "mailbox": "postmaster"})
    assert mail.outbox[-1].to == ["postmaster@acme.example"]
    code = mail.outbox[-1].body.split("The code is ")[1][:6]
    claim = OrganizationDomain.objects.get(organization=org_a)
    client.post(f"{access(org_a)}domains/{claim.pk}", {"code": code})
    assert OrganizationDomain.objects.get(pk=claim.pk).verified_at is not None
