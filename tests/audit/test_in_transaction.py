"""A domain change and its audit event commit together or not at all: when the log can't take the event, the change
is refused (a clear 503 over the API) and nothing of it is left; reads stay best effort and say what was lost."""
from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import AuditWriteError, record, record_in_transaction
from integrations.models import ApiKey
from integrations.services import api_key_create
from teams.employees import employee_delete
from teams.models import Employee
from tenancy.models import Membership, Role
from tenancy.services import membership_set_role
from tests.factories import client_for, grant_consent, make_employee, make_user, verify_domain
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def refuse_inserts() -> None:
    """From now on the log's database refuses every insert (a real PostgreSQL error, as when a disk fills or a
    grant is revoked), for this test's transaction only."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TRIGGER audit_auditevent_test_refuse_insert BEFORE INSERT ON audit_auditevent "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_refuse_change()")


@pytest.fixture
def log_refuses_inserts(db):
    refuse_inserts()


@pytest.fixture
def owner_and_member(org_a):
    owner = make_user(org_a, Role.OWNER)
    member = make_user(org_a, Role.EMPLOYEE)
    return (Membership.objects.get(organization=org_a, user=owner),
            Membership.objects.get(organization=org_a, user=member))


def test_a_role_change_is_written_with_its_event(owner_and_member):
    owner, member = owner_and_member
    membership_set_role(membership=member, role=Role.ADMIN, actor=owner)
    [event] = AuditEvent.objects.filter(action="membership.role_changed")
    assert (event.object_id, event.actor_id, event.detail) == (
        str(member.pk), str(owner.user_id), {"user_id": member.user_id, "from": "employee", "to": "admin"})


def test_a_role_change_whose_event_cannot_be_written_is_not_made(owner_and_member, log_refuses_inserts):
    owner, member = owner_and_member
    with pytest.raises(AuditWriteError):
        membership_set_role(membership=member, role=Role.ADMIN, actor=owner)
    assert Membership.objects.get(pk=member.pk).role == Role.EMPLOYEE
    assert not AuditEvent.objects.exists()


def test_over_the_api_the_refusal_is_a_clear_503_and_nothing_changed(org_a, owner_and_member, log_refuses_inserts):
    owner, member = owner_and_member
    response = client_for(owner.user).patch(tenant_url("member-detail", org_a, member.pk), {"role": "admin"},
                                            format="json")
    assert response.status_code == 503
    assert response.json() == {"code": "audit_unavailable", "detail": "Could not record the audit event, so nothing "
                                                                      "was changed. Try again in a moment."}
    assert Membership.objects.get(pk=member.pk).role == Role.EMPLOYEE


def test_the_event_rolls_back_with_the_transaction_around_the_change(owner_and_member):
    owner, member = owner_and_member
    with transaction.atomic():
        membership_set_role(membership=member, role=Role.ADMIN, actor=owner)
        assert AuditEvent.objects.filter(action="membership.role_changed").exists()  # written before the commit
        transaction.set_rollback(True)
    assert Membership.objects.get(pk=member.pk).role == Role.EMPLOYEE
    assert not AuditEvent.objects.filter(action="membership.role_changed").exists()


def test_an_employee_whose_deletion_cannot_be_logged_is_kept(org_a, log_refuses_inserts):
    employee = Employee.objects.create(organization=org_a, name="Kept Person", email="kept@example.com")
    kept = employee.pk
    with pytest.raises(AuditWriteError):
        employee_delete(employee=employee)
    assert Employee.objects.filter(pk=kept).exists()


def test_an_api_key_whose_creation_cannot_be_logged_is_not_issued(org_a, log_refuses_inserts):
    admin = make_user(org_a, Role.ADMIN)
    with pytest.raises(AuditWriteError):
        api_key_create(organization=org_a, name="HRIS", scopes=["employees:read"], created_by=admin)
    assert not ApiKey.objects.filter(organization=org_a).exists()


def test_erasure_keeps_the_person_when_the_log_refuses(org_a, log_refuses_inserts):
    from privacy.erasure import erase_person

    admin = make_user(org_a, Role.ADMIN)
    employee = make_employee(org_a, name="Still Here")
    kept = employee.pk
    with pytest.raises(AuditWriteError):
        erase_person(employee=employee, requested_by=admin)
    assert Employee.objects.filter(pk=kept, name="Still Here").exists()


def test_a_verified_domain_whose_removal_cannot_be_logged_stays(org_a, log_refuses_inserts):
    from tenancy.domains import domain_delete
    from tenancy.models import OrganizationDomain

    claim = verify_domain(org_a, "acme.example")
    with pytest.raises(AuditWriteError):
        domain_delete(claim=claim)
    assert OrganizationDomain.objects.filter(pk=claim.pk, verified_at__isnull=False).exists()


def test_a_consent_withdrawal_that_cannot_be_logged_keeps_the_consent(org_a, log_refuses_inserts):
    from consent.models import Consent
    from privacy.services import consent_withdraw

    user = make_user(org_a)
    employee = make_employee(org_a, user)
    grant_consent(employee)
    with pytest.raises(AuditWriteError):
        consent_withdraw(employee=employee, user=user)
    assert Consent.objects.filter(employee=employee, withdrawn_at__isnull=True).exists()


def test_a_lost_read_event_is_logged_with_action_organization_and_object(org_a, log_refuses_inserts, caplog):
    with caplog.at_level(logging.ERROR, logger="audit.services"):
        assert record(action="headshot.viewed", organization=org_a, actor="system", object=("headshot", 7)) is None
    assert f"could not record headshot.viewed (organization {org_a.pk}, object headshot:7)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_domain_event_outside_a_transaction_is_a_programming_error(org_a):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_in_transaction(action="membership.ended", organization=org_a, actor="system")
    assert not AuditEvent.objects.exists()
    employee = make_employee(org_a)
    deleted = employee.pk
    employee_delete(employee=employee)  # committed for real: its event with it
    assert AuditEvent.objects.filter(action="employee.deleted", object_id=str(deleted)).count() == 1


def test_a_scim_create_whose_event_cannot_be_written_is_a_scim_503_and_no_user(org_a):
    from rest_framework.test import APIClient

    from scim.services import scim_token_create

    _token, secret = scim_token_create(organization=org_a, created_by=None)  # issued (and logged) first
    refuse_inserts()
    response = APIClient().post(url_of("scim:users"), {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                   "userName": "new.person@example.com", "active": True},
                                format="json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("Could not record the audit event, so nothing was changed.")
    assert not Employee.objects.filter(organization=org_a, email="new.person@example.com").exists()
