"""Erasure of a person: the API, who may erase whom, accounts shared with other organizations, storage failures,
and receipts that verify exactly as signed."""
from __future__ import annotations

import base64
import copy
import io
import json
import os
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import User
from privacy.erasure import ErasureError, erase_person, erasure_files_retry
from privacy.receipts import ErasureReceipt, receipt_json, verify
from teams.models import Employee, Selfie
from tenancy.models import Membership, Role
from tests.factories import client_for, make_employee, make_org, make_user
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(org_a):
    user = make_user(org_a, Role.EMPLOYEE, email="zoe.erased@acme.example")
    employee = make_employee(org_a, user, name="Zoë Erased", external_id="HR-7781")
    return employee


def store_selfie(employee, n: int = 1) -> Selfie:
    selfie = Selfie(organization=employee.organization, employee=employee, checksum=f"{employee.pk:032d}{n:032d}",
                    size_bytes=5)
    selfie.file.save(f"{n}.png", ContentFile(b"bytes" * n), save=False)
    selfie.save()
    return selfie


# The API ---------------------------------------------------------------------------------------------------------


def test_an_employee_erases_themselves_with_confirmation_and_is_signed_out(org_a, person,
                                                                           django_capture_on_commit_callbacks):
    selfie = store_selfie(person)
    path = default_storage.path(selfie.file.name)
    api = client_for(person.user)
    browser = Client()
    browser.force_login(person.user)

    refused = api.post(tenant_url("my-erase", org_a), {"confirm": "yes"}, format="json")
    assert refused.status_code == 400 and "ERASE" in json.dumps(refused.json())
    assert Employee.objects.filter(pk=person.pk).exists()  # nothing happened

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(tenant_url("my-erase", org_a), {"confirm": "ERASE"}, format="json")
    assert response.status_code == 200, response.content
    receipt = response.json()
    assert verify(receipt)
    assert receipt["requested_by"] == {"user_id": None, "self": True}
    assert receipt["counts"]["selfies"] == 1 and receipt["counts"]["user_accounts"] == 1
    assert receipt["counts"]["sessions"] == 1 and receipt["counts"]["api_tokens"] == 1
    # Files go once the erasure has committed; the stored receipt (re-signed) then counts them.
    stored = receipt_json(ErasureReceipt.objects.get(pk=receipt["id"]))
    assert stored["files"] == {"deleted": 1, "pending": 0} and verify(stored)
    assert not Employee.objects.filter(pk=person.pk).exists()
    assert not User.objects.filter(email="zoe.erased@acme.example").exists()
    assert not os.path.exists(path)
    # Their token and their browser session no longer work.
    assert api.get(tenant_url("me", org_a)).status_code == 401
    assert browser.get(tenant_url("me", org_a)).status_code in (401, 403)


def test_an_admin_erases_an_employee_and_reads_the_receipt_later(org_a, person,
                                                                 django_capture_on_commit_callbacks):
    admin = make_user(org_a, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(tenant_url("employee-erase", org_a, person.pk), {"confirm": "ERASE"},
                                          format="json")
    assert response.status_code == 200, response.content
    receipt = response.json()
    assert receipt["requested_by"] == {"user_id": admin.pk, "self": False}
    assert receipt["subject"]["employee_id"] == person.pk
    assert "zoe" not in json.dumps(receipt).lower() and "HR-7781" not in json.dumps(receipt)

    listed = client_for(admin).get(tenant_url("erasure-receipts", org_a)).json()
    assert [r["receipt_id"] for r in listed] == [receipt["receipt_id"]]
    # The organization can match a request by email without us keeping the address.
    assert len(client_for(admin).get(tenant_url("erasure-receipts", org_a), {"email": "ZOE.erased@acme.example "})
               .json()) == 1
    assert client_for(admin).get(tenant_url("erasure-receipts", org_a), {"email": "other@acme.example"}).json() == []
    detail = client_for(admin).get(tenant_url("erasure-receipt", org_a, receipt['id']))
    assert detail.status_code == 200 and verify(detail.json()) and detail.json() == receipt

    again = client_for(admin).post(tenant_url("employee-erase", org_a, person.pk), {"confirm": "ERASE"}, format="json")
    assert again.status_code == 404


def test_employees_cannot_erase_colleagues_or_read_receipts(org_a, person):
    colleague = make_user(org_a, Role.EMPLOYEE)
    make_employee(org_a, colleague)
    api = client_for(colleague)
    assert api.post(tenant_url("employee-erase", org_a, person.pk), {"confirm": "ERASE"},
                    format="json").status_code == 403
    assert api.get(tenant_url("erasure-receipts", org_a)).status_code == 403
    assert Employee.objects.filter(pk=person.pk).exists()


def test_the_only_owner_cannot_be_erased(org_a):
    owner = make_user(org_a, Role.OWNER)
    employee = make_employee(org_a, owner)
    with pytest.raises(ErasureError) as refused:
        erase_person(employee=employee, requested_by=owner)
    assert refused.value.code == "last_owner" and refused.value.status == 409
    assert Employee.objects.filter(pk=employee.pk).exists()


# Accounts shared with another organization -------------------------------------------------------------------------


def test_a_person_in_another_organization_keeps_their_account_there(org_a, org_b, person,
                                                                    django_capture_on_commit_callbacks):
    user = person.user
    Membership.objects.create(organization=org_b, user=user, role=Role.EMPLOYEE)
    elsewhere = make_employee(org_b, user, name="Zoë Erased")
    Token.objects.create(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    assert receipt.counts["user_accounts"] == 0 and receipt.counts["memberships"] == 1
    assert receipt.counts["api_tokens"] == 1  # signed out everywhere; they sign in again to the other organization
    assert User.objects.filter(pk=user.pk).exists()
    assert list(Membership.objects.filter(user=user).values_list("organization_id", flat=True)) == [org_b.pk]
    assert Employee.objects.filter(pk=elsewhere.pk, user=user).exists()


# Files ------------------------------------------------------------------------------------------------------------


def test_a_file_storage_refuses_to_delete_is_retried_reported_and_deleted_later(
        org_a, person, monkeypatch, settings, django_capture_on_commit_callbacks):
    settings.PRIVACY_ERASURE_FILE_ATTEMPTS = 3
    flaky, broken = store_selfie(person, 1), store_selfie(person, 2)
    calls: dict[str, int] = {}
    real_delete = FileSystemStorage.delete

    def delete(storage, name):
        calls[name] = calls.get(name, 0) + 1
        if name == broken.file.name or (name == flaky.file.name and calls[name] == 1):
            raise OSError("storage is unavailable")
        real_delete(storage, name)

    monkeypatch.setattr(FileSystemStorage, "delete", delete)
    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    receipt.refresh_from_db()
    assert calls == {flaky.file.name: 2, broken.file.name: 3}
    assert receipt.files == {"deleted": 1, "pending": 1} and receipt.pending_files == [broken.file.name]
    assert verify(receipt_json(receipt))
    assert default_storage.exists(broken.file.name) and not default_storage.exists(flaky.file.name)

    monkeypatch.setattr(FileSystemStorage, "delete", real_delete)
    assert erasure_files_retry() == 0
    receipt.refresh_from_db()
    assert receipt.files == {"deleted": 2, "pending": 0} and receipt.pending_files == []
    assert not default_storage.exists(broken.file.name)
    assert verify(receipt_json(receipt))


def test_only_export_zips_that_list_the_person_are_deleted(org_a, person, django_capture_on_commit_callbacks):
    from integrations.models import ExportJob

    def export(rows: list[dict], raw: bytes | None = None) -> ExportJob:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            lines = ["file,employee_id,email"] + [f"{r['file']},{r['employee_id']},{r['email']}" for r in rows]
            archive.writestr("manifest.csv", "\n".join(lines) + "\n")
        job = ExportJob.objects.create(organization=org_a, preset="generic", status="done")
        job.file.save("export.zip", ContentFile(raw if raw is not None else buffer.getvalue()))
        return job

    listing = export([{"file": "a.jpg", "employee_id": person.pk, "email": person.email}])
    by_email = export([{"file": "b.jpg", "employee_id": 999_999, "email": person.email.upper()}])
    others = export([{"file": "c.jpg", "employee_id": person.pk + 1000, "email": "other@acme.example"}])
    unreadable = export([], raw=b"not a zip")
    names = {job.pk: job.file.name for job in (listing, by_email, others, unreadable)}
    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    assert receipt.counts["export_zips"] == 3
    for job in (listing, by_email, unreadable):
        job.refresh_from_db()
        assert job.status == "erased" and not job.file and not default_storage.exists(names[job.pk])
    others.refresh_from_db()
    assert others.status == "done" and default_storage.exists(others.file.name)


def test_erasing_a_manager_removes_them_from_their_reports_and_from_exports_that_name_them(
        org_a, person, django_capture_on_commit_callbacks):
    from integrations.models import ExportJob
    from privacy.erasure import Subject
    from teams.employees import employee_update

    report = make_employee(org_a, name="Ray Report", email="ray@acme.example")
    employee_update(employee=report, manager=person, manager_name="Zoë Erased", title="Engineer")
    employee_update(employee=person, employee_number="EMP-5521")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # the manifest of an export made while Zoë managed Ray
        archive.writestr("manifest.csv", "file,employee_id,email,manager,manager_email\n"
                                         f"r.jpg,{report.pk},ray@acme.example,Zoë Erased,{person.email}\n")
    job = ExportJob.objects.create(organization=org_a, preset="generic", status="done")
    job.file.save("export.zip", ContentFile(buffer.getvalue()))
    subject = Subject(org_a.pk, person.pk, person.user_id, person.email, person.name, person.external_id, {},
                      "EMP-5521")
    assert subject.scrub("Workday: worker EMP-5521 not found") == "Workday: worker [erased] not found"

    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    assert receipt.counts["export_zips"] == 1
    job.refresh_from_db()
    assert job.status == "erased" and not job.file
    report.refresh_from_db()
    assert (report.manager, report.manager_name, report.title) == (None, "", "Engineer")


# Receipts ---------------------------------------------------------------------------------------------------------


def erased_receipt(org_a, person, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    receipt = ErasureReceipt.objects.get(pk=receipt.pk)
    return receipt_json(receipt)


def with_one_bit_flipped(signature: str) -> str:
    """The signature with one bit of a decoded byte flipped: always another signature. (Replacing the last two
    base64 characters with "AA" could leave it unchanged: they may be "AA" already, and the last character of an
    Ed25519 signature carries bits the decoder drops.)"""
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def tampered(document: dict):
    """Every single change someone could make to a receipt."""
    for key, value in document.items():
        if key in ("signature", "id"):
            continue
        if isinstance(value, dict):
            for inner in value:
                changed = copy.deepcopy(document)
                changed[key][inner] = "x" if changed[key][inner] != "x" else "y"
                yield f"{key}.{inner}", changed
            changed = copy.deepcopy(document)
            changed[key]["extra"] = 1
            yield f"{key}+extra", changed
        else:
            changed = copy.deepcopy(document)
            changed[key] = "x" if value != "x" else "y"
            yield key, changed
    changed = copy.deepcopy(document)
    changed["destinations"] = [{"destination": "microsoft_graph", "outcome": "deleted", "reason": ""}]
    yield "destinations added", changed
    changed = copy.deepcopy(document)
    changed["signature"]["value"] = with_one_bit_flipped(changed["signature"]["value"])
    yield "signature", changed
    changed = copy.deepcopy(document)
    del changed["erased_at"]
    yield "field removed", changed


def test_a_receipt_verifies_and_any_change_breaks_it(org_a, person, django_capture_on_commit_callbacks):
    document = erased_receipt(org_a, person, django_capture_on_commit_callbacks)
    assert document["signature"]["alg"] == "HMAC-SHA256"
    assert verify(document) and verify(json.dumps(document)) and verify(json.dumps(document).encode())
    for what, changed in tampered(document):
        assert not verify(changed), what
    assert not verify("not json") and not verify({"signature": "x"}) and not verify({})


def test_a_receipt_signed_under_another_secret_key_does_not_verify(org_a, person, settings,
                                                                    django_capture_on_commit_callbacks):
    document = erased_receipt(org_a, person, django_capture_on_commit_callbacks)
    settings.SECRET_KEY = "another-deployment-entirely-0123456789abcdef"
    assert not verify(document)


def test_with_an_ed25519_key_receipts_carry_the_public_key_and_verify_offline(
        org_a, person, settings, django_capture_on_commit_callbacks):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from privacy.receipts import canonical

    key = Ed25519PrivateKey.generate()  # a throwaway key for this test
    settings.PRIVACY_RECEIPT_SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    document = erased_receipt(org_a, person, django_capture_on_commit_callbacks)
    signature = document["signature"]
    assert signature["alg"] == "Ed25519" and verify(document)
    for what, changed in tampered(document):
        assert not verify(changed), what

    # The organization checks it with the public key alone, the way any Ed25519 library would.
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(signature["public_key"] + "=="))
    signed = {k: v for k, v in document.items() if k not in ("signature", "id")}
    public.verify(base64.urlsafe_b64decode(signature["value"] + "=="), canonical(signed))

    # Raw base64 keys work too; a receipt signed by a different key does not verify.
    other = Ed25519PrivateKey.generate()
    settings.PRIVACY_RECEIPT_SIGNING_KEY = base64.b64encode(other.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())).decode()
    assert not verify(document)


# The deletion event -----------------------------------------------------------------------------------------------


def test_the_employee_deleted_webhook_of_an_erasure_carries_only_the_id(org_a, person,
                                                                       django_capture_on_commit_callbacks):
    from webhooks.models import WebhookEndpoint, WebhookMessage
    from webhooks.signing import new_secret

    WebhookEndpoint.objects.create(organization=org_a, url="https://hooks.example.com/acme", secret=new_secret())
    employee_id = person.pk
    with django_capture_on_commit_callbacks(execute=True):
        erase_person(employee=person, requested_by=None)
    message = WebhookMessage.objects.get(event_type="employee.deleted")
    assert message.payload["employee"]["id"] == employee_id
    identifiers = {k: v for k, v in message.payload["employee"].items() if v not in ("", {}, None)}
    assert identifiers == {"id": employee_id}
    assert "zoe" not in json.dumps(message.payload).lower() and "HR-7781" not in json.dumps(message.payload)


def test_a_second_organization_with_the_same_person_is_untouched(org_a, person, django_capture_on_commit_callbacks):
    other_org = make_org("Initech")
    twin = make_employee(other_org, name="Zoë Erased", email="zoe.erased@acme.example", external_id="HR-7781")
    kept = store_selfie(twin)
    with django_capture_on_commit_callbacks(execute=True):
        erase_person(employee=person, requested_by=None)
    assert Employee.objects.filter(pk=twin.pk).exists() and default_storage.exists(kept.file.name)


# Photos pushed to directories ----------------------------------------------------------------------------------


def test_a_failed_directory_removal_is_on_the_receipt_and_never_retried_without_an_identifier(
        org_a, person, allow_test_origin, django_capture_on_commit_callbacks):
    from connectors.models import DeletionStatus, PhotoDeletion
    from connectors.services import connection_create, photo_delete_everywhere
    from tests.connectors.servers import GraphServer

    with GraphServer() as graph:
        allow_test_origin(graph.url)
        connection_create(organization=org_a, kind="microsoft_graph",
                          credentials={**graph.credentials(), "client_secret": "wrong"},
                          base_url=graph.url, auth_url=graph.url)
        employee_id = person.pk
        with django_capture_on_commit_callbacks(execute=True):
            receipt = erase_person(employee=person, requested_by=None)
        [outcome] = receipt.destinations
        assert outcome["destination"] == "microsoft_graph" and outcome["outcome"] == "failed"
        assert "credentials rejected" in outcome["reason"] and "zoe" not in outcome["reason"].lower()
        row = PhotoDeletion.objects.get(employee_ref=employee_id)
        assert row.remote_user == "" and "remove it there by hand" in row.last_error
        assert "zoe.erased" not in row.last_error

        # The connectors' own deletion job (started by employee_deleted, with no identifier) leaves it alone.
        calls_before = len(graph.calls)
        photo_delete_everywhere(org_a, {"employee_id": employee_id, "email": "", "external_id": "",
                                        "external_ids": {}})
        assert len(graph.calls) == calls_before and graph.deleted == []
        row.refresh_from_db()
        assert row.status == DeletionStatus.UNSUPPORTED


def test_an_export_that_was_running_during_the_erasure_is_deleted_by_the_daily_run(
        org_a, person, django_capture_on_commit_callbacks):
    from django.core.management import call_command
    from django.utils import timezone

    from integrations.models import ExportJob

    employee_id = person.pk
    with django_capture_on_commit_callbacks(execute=True):
        receipt = erase_person(employee=person, requested_by=None)
    assert receipt.counts["export_zips"] == 0

    def finished_export(rows: str) -> ExportJob:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("manifest.csv", "file,employee_id,email\n" + rows)
        job = ExportJob.objects.create(organization=org_a, preset="generic", status="done",
                                       finished_at=timezone.now())
        job.file.save("late.zip", ContentFile(buffer.getvalue()))
        return job

    late = finished_export(f"z.jpg,{employee_id},zoe.erased@acme.example\n")
    unrelated = finished_export(f"a.jpg,{employee_id + 1000},\n")  # an empty email matches nobody
    late_name = late.file.name
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_biometrics", stdout=io.StringIO())
    late.refresh_from_db()
    unrelated.refresh_from_db()
    assert late.status == "erased" and not default_storage.exists(late_name)
    assert unrelated.status == "done" and default_storage.exists(unrelated.file.name)
    receipt.refresh_from_db()
    assert receipt.counts["export_zips"] == 1 and receipt.files == {"deleted": 1, "pending": 0}
    assert verify(receipt_json(receipt))
