"""The admin portal's Privacy page: erasing a person after a confirmation that names what will be deleted, and the
signed receipts (listed with their signature, downloadable, verifiable); admins only, another organization's
people and receipts are 404."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from privacy.receipts import ErasureReceipt, verify
from teams.models import Employee
from tenancy.models import Role
from tests.factories import grant_consent, make_employee, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def privacy(org) -> str:
    return url_of("portal:admin-privacy", org)


@pytest.fixture
def grace(org_a):
    employee = make_employee(org_a, make_user(org_a, email="grace@acme.example"), name="Grace Hopper")
    grant_consent(employee)
    return employee


def test_the_confirmation_names_what_will_be_deleted_and_a_typo_erases_nothing(org_a, grace):
    client = signed_in(make_user(org_a, Role.ADMIN))
    found = client.get(privacy(org_a), {"q": "grace"}).content.decode()
    assert f'href="{privacy(org_a)}erase/{grace.pk}"' in found
    page = client.get(f"{privacy(org_a)}erase/{grace.pk}").content.decode()
    assert "Grace Hopper (grace@acme.example)" in page and "1 consent records" in page and "sign-in account" in page
    refused = client.post(f"{privacy(org_a)}erase/{grace.pk}", {"confirm": "erase"})
    assert refused.status_code == 400 and "Type &quot;ERASE&quot; to confirm" in refused.content.decode()
    assert Employee.objects.filter(pk=grace.pk).exists()


def test_erasing_leaves_a_signed_receipt_to_download(org_a, grace):
    client = signed_in(make_user(org_a, Role.ADMIN))
    assert client.post(f"{privacy(org_a)}erase/{grace.pk}", {"confirm": "ERASE"}).status_code == 302
    assert not Employee.objects.filter(pk=grace.pk).exists()
    receipt = ErasureReceipt.objects.get(organization=org_a)
    page = client.get(privacy(org_a)).content.decode()
    assert str(receipt.receipt_id) in page and receipt.signature_alg in page and "consents: 1" in page
    assert "grace@acme.example" not in page
    assert str(receipt.receipt_id) in client.get(privacy(org_a), {"receipt_email": "grace@acme.example"}) \
        .content.decode()
    assert "No erasure yet" in client.get(privacy(org_a), {"receipt_email": "other@acme.example"}).content.decode()
    download = client.get(f"{privacy(org_a)}receipts/{receipt.pk}.json")
    assert download["Content-Disposition"].startswith("attachment;")
    document = json.loads(download.content)
    assert verify(document) and document["receipt_id"] == str(receipt.receipt_id)


def test_another_organizations_person_and_receipt_are_404(org_a, org_b):
    theirs = make_employee(org_b, name="Their Person")
    client = signed_in(make_user(org_b, Role.ADMIN))
    client.post(f"{privacy(org_b)}erase/{make_employee(org_b).pk}", {"confirm": "ERASE"})
    their_receipt = ErasureReceipt.objects.get(organization=org_b)
    mine = signed_in(make_user(org_a, Role.OWNER))
    assert mine.get(f"{privacy(org_a)}erase/{theirs.pk}").status_code == 404
    assert mine.post(f"{privacy(org_a)}erase/{theirs.pk}", {"confirm": "ERASE"}).status_code == 404
    assert mine.get(f"{privacy(org_a)}receipts/{their_receipt.pk}.json").status_code == 404
    assert "Their Person" not in mine.get(privacy(org_a), {"q": "Their"}).content.decode()
    assert Employee.objects.filter(pk=theirs.pk).exists()


def test_only_admins_erase(org_a, org_b, grace):
    assert Client().post(f"{privacy(org_a)}erase/{grace.pk}", {"confirm": "ERASE"}).status_code == 302
    employee = signed_in(make_user(org_a, Role.EMPLOYEE))
    assert employee.get(privacy(org_a)).status_code == 403
    assert employee.post(f"{privacy(org_a)}erase/{grace.pk}", {"confirm": "ERASE"}).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(f"{privacy(org_a)}erase/{grace.pk}",
                                                         {"confirm": "ERASE"}).status_code == 404
    assert Employee.objects.filter(pk=grace.pk).exists()
