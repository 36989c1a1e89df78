"""The ACS accepts only a fresh, correctly signed assertion for us, once, for someone the organization knows."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Invite, User
from accounts.services import invite_create
from sso.models import ConsumedAssertion, PendingAuthnRequest, SsoIdentity
from sso.services import idp_config_save
from teams.models import Employee
from tenancy.models import Membership, Role
from tests.factories import make_employee, make_org, make_user, verify_domain
from tests.saml_idp import TestIdP
from tests.urls import url_of

from .conftest import BASE_URL, acs_path, audience, encode, signed

pytestmark = pytest.mark.django_db

ADA = "ada@acme.example"


def post(client, org, saml_response: str, relay_state: str | None = None):
    data = {"SAMLResponse": saml_response}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return client.post(acs_path(org), data)


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def assert_refused(response, client, status=400, reason: str | None = None):
    """Refused, nobody signed in, and (when given) for this reason: the code logged and shown for support."""
    assert response.status_code == status
    assert b'role="alert"' in response.content
    assert signed_in_user(client) is None
    if reason is not None:
        assert response.context["code"] == reason, response.context["code"]


def test_valid_assertion_for_an_imported_employee_signs_them_in(client, sso_org, idp):
    employee = make_employee(sso_org, email=ADA, name="Ada Lovelace")

    response = post(client, sso_org, signed(idp, sso_org, ADA), relay_state="/app/selfies")

    assert response.status_code == 302
    assert response["Location"] == "/app/selfies"
    user = signed_in_user(client)
    assert user.email == ADA and not user.has_usable_password()
    assert Membership.objects.get(organization=sso_org, user=user).role == Role.EMPLOYEE
    employee.refresh_from_db()
    assert employee.user == user
    assert ConsumedAssertion.objects.for_organization(sso_org).count() == 1


def test_unsafe_relay_state_lands_on_the_app_instead(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    response = post(client, sso_org, signed(idp, sso_org, ADA), relay_state="https://evil.example/phish")
    assert response.status_code == 302 and response["Location"] == url_of("portal:orgs")
    response = post(client, sso_org, signed(idp, sso_org, ADA), relay_state="//evil.example/")
    assert response["Location"] == url_of("portal:orgs")


def test_mapped_attributes_name_the_new_account(client, sso_org, idp):
    verify_domain(sso_org, "acme.example")
    idp_config_save(organization=sso_org, allowed_domains=["acme.example"])
    response = post(client, sso_org, signed(idp, sso_org, ADA, attributes={
        "email": ADA, "firstName": "Ada", "lastName": "Lovelace"}))
    assert response.status_code == 302
    user = signed_in_user(client)
    assert user.name == "Ada Lovelace"
    assert Employee.objects.for_organization(sso_org).get(email=ADA).name == "Ada Lovelace"


def test_entra_claim_uris_map_to_the_email(client, org_a, idp):
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), preset="entra", enabled=True)
    make_employee(org_a, email=ADA)
    claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
    # The NameID is an opaque id, so only the mapped claim can identify the person.
    response = post(client, org_a, signed(idp, org_a, ADA, name_id="00u1abcd", attributes={
        f"{claims}/emailaddress": ADA, f"{claims}/givenname": "Ada"}))
    assert response.status_code == 302
    assert signed_in_user(client).email == ADA


def test_email_changed_inside_the_signed_assertion_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    make_employee(sso_org, email="eve@acme.example")
    xml = idp.response_xml(acs_url=BASE_URL + acs_path(sso_org), audience=audience(sso_org), email=ADA)
    tampered = xml.replace(ADA, "eve@acme.example")
    assert tampered != xml

    assert_refused(post(client, sso_org, encode(tampered)), client, reason="signature_invalid")
    assert not ConsumedAssertion.objects.exists()


def test_assertion_signed_with_another_key_is_refused(client, sso_org, idp, rogue_idp):
    make_employee(sso_org, email=ADA)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, key=rogue_idp)), client,
                   reason="signature_invalid")
    # Signing the whole response with the wrong key as well changes nothing.
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, key=rogue_idp, sign_response=True)), client,
                   reason="signature_invalid")


def test_unsigned_assertion_is_refused_even_in_a_signed_response(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, sign_assertion=False)), client,
                   reason="unsigned")
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, sign_assertion=False, sign_response=True)),
                   client, reason="unsigned")


def test_a_forged_assertion_wrapped_around_a_signed_one_is_refused_as_wrapping(client, sso_org, idp):
    # XML signature wrapping: the signed assertion stays (its signature still verifies) and a second, forged one
    # for someone else is put where a careless reader would take it from.
    make_employee(sso_org, email=ADA)
    make_employee(sso_org, email="eve@acme.example")
    xml = idp.response_xml(acs_url=BASE_URL + acs_path(sso_org), audience=audience(sso_org), email=ADA)
    start = xml.index("<saml:Assertion")
    end = xml.index("</saml:Assertion>") + len("</saml:Assertion>")
    original = xml[start:end]
    forged = re.sub(r"<ds:Signature.*?</ds:Signature>", "", original, flags=re.S)
    forged = forged.replace(ADA, "eve@acme.example").replace('ID="_', 'ID="_forged')
    wrapped = xml[:start] + forged + original + xml[end:]
    assert_refused(post(client, sso_org, encode(wrapped)), client, reason="signature_wrapping")


def test_signed_assertion_inside_a_signed_response_is_accepted(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    response = post(client, sso_org, signed(idp, sso_org, ADA, sign_response=True))
    assert response.status_code == 302 and signed_in_user(client).email == ADA


def test_expired_assertion_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    past = datetime.now(UTC) - timedelta(hours=1)
    response = post(client, sso_org, signed(idp, sso_org, ADA, not_before=past - timedelta(minutes=5),
                                            not_on_or_after=past))
    assert_refused(response, client, reason="expired")


def test_assertion_not_yet_valid_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    future = datetime.now(UTC) + timedelta(hours=1)
    response = post(client, sso_org, signed(idp, sso_org, ADA, not_before=future,
                                            not_on_or_after=future + timedelta(minutes=5)))
    assert_refused(response, client, reason="not_yet_valid")


def test_assertion_for_another_audience_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    other = make_org("Other")
    response = post(client, sso_org, idp.response(acs_url=BASE_URL + acs_path(sso_org), audience=audience(other),
                                                  email=ADA))
    assert_refused(response, client, reason="wrong_audience")


def test_assertion_for_another_acs_url_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    response = post(client, sso_org, idp.response(acs_url="https://evil.example/acs", audience=audience(sso_org),
                                                  email=ADA))
    assert_refused(response, client, reason="wrong_destination")


def test_replayed_response_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    saml_response = signed(idp, sso_org, ADA)
    assert post(client, sso_org, saml_response).status_code == 302
    client.logout()

    assert_refused(post(client, sso_org, saml_response), client, reason="replayed")
    assert ConsumedAssertion.objects.for_organization(sso_org).count() == 1


def test_same_assertion_id_in_a_new_response_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert post(client, sso_org, signed(idp, sso_org, ADA, assertion_id="_fixed1")).status_code == 302
    client.logout()
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, assertion_id="_fixed1")), client,
                   reason="replayed")


def test_expired_replay_cache_rows_are_cleaned_up(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    ConsumedAssertion.objects.create(organization=sso_org, assertion_id="_old",
                                     expires_at=datetime.now(UTC) - timedelta(days=1))
    assert post(client, sso_org, signed(idp, sso_org, ADA)).status_code == 302
    assert list(ConsumedAssertion.objects.values_list("assertion_id", flat=True)) != ["_old"]
    assert not ConsumedAssertion.objects.filter(assertion_id="_old").exists()


def test_person_neither_invited_nor_from_an_allowed_domain_is_refused_and_nothing_is_created(client, sso_org, idp):
    verify_domain(sso_org, "acme.example")
    idp_config_save(organization=sso_org, allowed_domains=["acme.example"])
    users, employees = User.objects.count(), Employee.objects.count()

    response = post(client, sso_org, signed(idp, sso_org, "mallory@elsewhere.example"))

    assert_refused(response, client, status=403)
    assert b"invited" in response.content
    assert (User.objects.count(), Employee.objects.count()) == (users, employees)
    assert not Membership.objects.filter(user__email="mallory@elsewhere.example").exists()
    # The refused assertion is not spent either: nothing of it was stored.
    assert not ConsumedAssertion.objects.exists()


def test_allowed_domain_gets_an_employee_account_just_in_time(client, sso_org, idp):
    verify_domain(sso_org, "acme.example")
    idp_config_save(organization=sso_org, allowed_domains=["acme.example"])
    assert post(client, sso_org, signed(idp, sso_org, "new.hire@acme.example")).status_code == 302
    user = signed_in_user(client)
    assert Membership.objects.get(organization=sso_org, user=user).role == Role.EMPLOYEE
    assert Employee.objects.for_organization(sso_org).get(email="new.hire@acme.example").user == user


def test_pending_invite_gives_its_role_and_is_marked_accepted(client, sso_org, idp):
    admin = make_user(sso_org, Role.ADMIN)
    invite = invite_create(organization=sso_org, email="boss@acme.example", role=Role.ADMIN, invited_by=admin).invite
    assert post(client, sso_org, signed(idp, sso_org, "boss@acme.example")).status_code == 302
    user = signed_in_user(client)
    assert Membership.objects.get(organization=sso_org, user=user).role == Role.ADMIN
    invite.refresh_from_db()
    assert invite.accepted_at is not None


def test_revoked_invite_does_not_let_anyone_in(client, sso_org, idp):
    admin = make_user(sso_org, Role.ADMIN)
    invite = invite_create(organization=sso_org, email="gone@acme.example", invited_by=admin).invite
    Invite.objects.filter(pk=invite.pk).update(revoked_at=datetime.now(UTC))
    assert_refused(post(client, sso_org, signed(idp, sso_org, "gone@acme.example")), client, status=403)


def test_deactivated_employee_is_refused_even_from_an_allowed_domain(client, sso_org, idp):
    verify_domain(sso_org, "acme.example")
    idp_config_save(organization=sso_org, allowed_domains=["acme.example"])
    employee = make_employee(sso_org, email=ADA)
    Employee.objects.filter(pk=employee.pk).update(active=False)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA)), client, status=403)
    assert not User.objects.filter(email=ADA).exists()


def test_in_response_to_an_unknown_request_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    PendingAuthnRequest.objects.create(organization=sso_org, request_id="_ours",
                                       expires_at=datetime.now(UTC) + timedelta(minutes=5))
    response = post(client, sso_org, signed(idp, sso_org, ADA, in_response_to="_somebody_elses"))
    assert_refused(response, client)
    assert PendingAuthnRequest.objects.filter(request_id="_ours").exists()


def test_response_to_another_organizations_request_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    other = make_org("Other")
    PendingAuthnRequest.objects.create(organization=other, request_id="_theirs",
                                       expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, in_response_to="_theirs")), client)


def test_response_to_an_expired_request_is_refused(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    PendingAuthnRequest.objects.create(organization=sso_org, request_id="_stale",
                                       expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA, in_response_to="_stale")), client)


def test_idp_initiated_sign_in_is_accepted_by_default_and_can_be_turned_off(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert post(client, sso_org, signed(idp, sso_org, ADA)).status_code == 302
    client.logout()

    idp_config_save(organization=sso_org, allow_idp_initiated=False)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA)), client)


def test_organization_without_sso_or_with_it_off_refuses(client, org_a, idp):
    make_employee(org_a, email=ADA)
    assert_refused(post(client, org_a, signed(idp, org_a, ADA)), client, status=404)
    idp_config_save(organization=org_a, metadata_xml=idp.metadata_xml(), enabled=False)
    assert_refused(post(client, org_a, signed(idp, org_a, ADA)), client, status=404)


@pytest.mark.parametrize("garbage", ["", "not base64 !!", "PGh0bWw+", encode("<?xml version='1.0'?><!DOCTYPE x "
                                                                        "[<!ENTITY e 'boom'>]><x>&e;</x>")])
def test_garbage_is_a_friendly_refusal_not_a_crash(client, sso_org, garbage):
    assert_refused(post(client, sso_org, garbage), client)


def test_acs_answers_only_post(client, sso_org):
    assert client.get(acs_path(sso_org)).status_code == 405


def test_existing_member_signs_in_without_an_invite_or_an_allowed_domain(client, sso_org, idp):
    admin = make_user(sso_org, Role.ADMIN, email="hr@acme.example")
    assert post(client, sso_org, signed(idp, sso_org, "hr@acme.example")).status_code == 302
    assert signed_in_user(client) == admin
    assert Membership.objects.get(organization=sso_org, user=admin).role == Role.ADMIN
    # An admin is not made into an employee (a headshot subject) by signing in.
    assert not Employee.objects.filter(email="hr@acme.example").exists()


def test_a_second_signing_certificate_lets_the_idp_roll_its_key_over(client, org_a, idp, rogue_idp):
    both = idp.metadata_xml().replace("</md:KeyDescriptor>", "</md:KeyDescriptor>" + (
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{rogue_idp.cert_base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"), 1)
    idp_config_save(organization=org_a, metadata_xml=both, enabled=True)
    make_employee(org_a, email=ADA)
    assert post(client, org_a, signed(idp, org_a, ADA, key=rogue_idp)).status_code == 302
    client.logout()
    assert post(client, org_a, signed(idp, org_a, ADA)).status_code == 302


def test_when_the_idp_signs_responses_an_unsigned_response_is_refused(client, sso_org, idp):
    idp_config_save(organization=sso_org, want_messages_signed=True)
    make_employee(sso_org, email=ADA)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA)), client)
    assert post(client, sso_org, signed(idp, sso_org, ADA, sign_response=True)).status_code == 302


def test_a_base_url_python3_saml_rejects_is_a_503_page_not_a_crash(client, sso_org, idp, settings):
    settings.PUBLIC_BASE_URL = "not a url"
    make_employee(sso_org, email=ADA)
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA)), client, status=503)
    assert client.get(url_of("sso:start", sso_org)).status_code == 503
    assert client.get(url_of("sso:metadata", sso_org)).status_code == 503


def test_an_attribute_sent_twice_under_one_name_is_refused_not_a_crash(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    xml = idp.response_xml(acs_url=BASE_URL + acs_path(sso_org), audience=audience(sso_org), email=ADA,
                           attributes={"email": ADA, "groups": "a"})
    # Re-sign after duplicating the attribute, so only the duplicate is wrong.
    from lxml import etree
    from onelogin.saml2.utils import OneLogin_Saml2_Utils

    doc = etree.fromstring(xml.encode())
    ns = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assertion = doc.find("saml:Assertion", ns)
    assertion.remove(assertion.find("ds:Signature", ns))
    statement = assertion.find("saml:AttributeStatement", ns)
    statement.append(etree.fromstring(etree.tostring(statement[0])))
    resigned = OneLogin_Saml2_Utils.add_sign(etree.tostring(assertion).decode(), idp.key_pem, idp.cert_pem).decode()
    doc.replace(assertion, etree.fromstring(resigned.encode()))
    assert_refused(post(client, sso_org, encode(etree.tostring(doc).decode())), client)


# Identity links: (organization, IdP entity ID, NameID) -> account ------------------------------------------------


def test_the_first_sign_in_links_the_idp_identity_and_later_ones_follow_the_link(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert post(client, sso_org, signed(idp, sso_org, ADA, name_id="00u-ada")).status_code == 302
    link = SsoIdentity.objects.get()
    assert (link.organization, link.idp_entity_id, link.name_id) == (sso_org, idp.entity_id, "00u-ada")
    ada = signed_in_user(client)
    client.logout()
    # The IdP renamed her address: the stable NameID still names the same account.
    assert post(client, sso_org, signed(idp, sso_org, "ada.lovelace@acme.example", name_id="00u-ada")).status_code \
        == 302
    assert signed_in_user(client) == ada


def test_a_second_identity_at_the_same_idp_cannot_take_over_a_linked_account(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert post(client, sso_org, signed(idp, sso_org, ADA, name_id="00u-ada")).status_code == 302
    client.logout()
    response = post(client, sso_org, signed(idp, sso_org, ADA, name_id="00u-impostor"))
    assert_refused(response, client, status=409, reason="link_conflict")


def test_an_existing_account_that_is_no_member_is_linked_only_after_signing_in_to_it(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    ada = User.objects.create_user(ADA, "correct-horse-battery-9")  # e.g. made by another organization's invite
    assert_refused(post(client, sso_org, signed(idp, sso_org, ADA)), client, status=409, reason="link_required")
    assert not Membership.objects.filter(organization=sso_org).exists()
    # Ada signs in with her own proof (a code to her address), then through the IdP: now the two are linked.
    client.force_login(ada)
    session = client.session
    session["auth_method"] = "code"
    session.save()
    assert post(client, sso_org, signed(idp, sso_org, ADA)).status_code == 302
    assert SsoIdentity.objects.get().user == ada
    assert Membership.objects.filter(organization=sso_org, user=ada).exists()


def test_a_new_idp_for_the_organization_relinks_its_members(client, sso_org, idp):
    make_employee(sso_org, email=ADA)
    assert post(client, sso_org, signed(idp, sso_org, ADA, name_id="old-1")).status_code == 302
    ada = signed_in_user(client)
    client.logout()
    new_idp = TestIdP(entity_id="https://login.acme.example/new")
    idp_config_save(organization=sso_org, metadata_xml=new_idp.metadata_xml())
    assert post(client, sso_org, signed(new_idp, sso_org, ADA, name_id="new-1")).status_code == 302
    assert signed_in_user(client) == ada
    link = SsoIdentity.objects.get()
    assert (link.idp_entity_id, link.name_id) == ("https://login.acme.example/new", "new-1")
