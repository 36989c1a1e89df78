"""Org B's admin against org A, over real HTTP (a live server, a cookie-keeping client, the test IdP signing with
B's key): anyone can sign up and run an organization, and nothing they do reaches another organization's people.

Each case is one the review found (issue 12): invite takeover, the SSO domain claim, invites that outlive a
deactivation, ending the last owner, deleted people keeping access; and the rules that now stop them: proof of
control before an account is linked, verified domains, an IdP speaking for its own organization only, membership
ends access at once, roles under the last-owner rule.
"""
from __future__ import annotations

import re

import pytest
import requests
from django.core import mail
from lxml import html

from accounts.models import User
from scim.services import scim_token_create
from sso.models import SsoIdentity
from sso.services import idp_config_save
from teams.models import Employee
from tenancy import domains
from tenancy.models import Membership, Organization, OrganizationDomain, Role
from tests.factories import make_employee, verify_domain
from tests.saml_idp import TestIdP
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-Long-enough-passw0rd"
A_OWNER = "owner@a-corp.test"


# Helpers: a company's admin as an HTTP client ------------------------------------------------------------------


class Api:
    """A JSON client of the live server, with a token once signed in."""

    def __init__(self, base: str, token: str | None = None):
        self.base, self.http = base, requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=30, **kwargs)


def mailed(pattern: str, to: str) -> str:
    message = [m for m in mail.outbox if m.to == [to]][-1]
    return re.search(pattern, message.body).group(1)


def sign_up(base: str, email: str, organization: str) -> tuple[Api, str]:
    """A new company through the real two-step sign-up; returns its owner's client and the organization slug."""
    anonymous = Api(base)
    started = anonymous("POST", url_of("api:signup"), json={"email": email, "password": PASSWORD,
                                                             "organization_name": organization})
    assert started.status_code == 202, started.text
    done = anonymous("POST", url_of("api:signup-verify"), json={"email": email, "code": mailed(r"\b(\d{6})\b",
                                                                                                   email)})
    assert done.status_code == 201, done.text
    return Api(base, done.json()["token"]), done.json()["organization"]


@pytest.fixture
def live(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # ACS URLs and audiences of SAML, links in emails
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http here
    return live_server.url


@pytest.fixture
def a_corp(live):
    """Org A: its owner signed up with their own address."""
    owner, slug = sign_up(live, A_OWNER, "A Corp")
    return owner, Organization.objects.get(slug=slug)


@pytest.fixture
def b_corp(live):
    """Org B: the hostile customer, an owner like any other."""
    owner, slug = sign_up(live, "mallory@b-corp.test", "B Corp")
    return owner, Organization.objects.get(slug=slug)


def invite_from_b(b_admin: Api, b_org: Organization, email: str) -> requests.Response:
    created = b_admin("POST", tenant_url("employee-list", b_org), json={"name": "Victim", "email": email})
    assert created.status_code == 201, created.text
    return b_admin("POST", tenant_url("employee-invite", b_org, created.json()['id']))


class FakeDns:
    """Answers TXT lookups from a dict, like a zone the test controls."""

    def __init__(self, records: dict[str, list[str]] | None = None):
        self.records = records or {}

    def txt(self, name: str) -> list[str]:
        return self.records.get(name, [])


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(domains, "resolver", fake)
    return fake


# 1. Invite takeover ---------------------------------------------------------------------------------------------


def test_an_invite_never_hands_its_token_to_the_inviting_admin(live, a_corp, b_corp):
    b_admin, b_org = b_corp
    response = invite_from_b(b_admin, b_org, A_OWNER)
    assert response.status_code == 201
    token = mailed(r"/invite/(\S+)", A_OWNER)  # only A's owner's mailbox has it
    assert token not in response.text and "token" not in response.json() and "accept_url" not in response.json()
    listed = b_admin("GET", tenant_url("invite-list", b_org))
    assert token not in listed.text


def test_a_leaked_invite_token_with_a_made_up_password_does_not_open_an_existing_account(live, a_corp, b_corp):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    invite_from_b(b_admin, b_org, A_OWNER)
    token = mailed(r"/invite/(\S+)", A_OWNER)  # even if it leaked from the mailbox
    accepted = Api(live)("POST", url_of("api:invite-accept"), json={"token": token, "password": "anything-at-all-9"})
    assert accepted.status_code == 409 and accepted.json()["code"] == "account_exists"
    assert "token" not in accepted.json()
    assert not Membership.objects.filter(organization=b_org, user__email=A_OWNER).exists()
    # A's owner's real token still works, and A's data stays A's.
    assert a_owner("GET", tenant_url("employee-list", a_org)).status_code == 200


def test_the_invited_person_links_their_existing_account_with_their_own_password(live, a_corp, b_corp):
    _a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    invite_from_b(b_admin, b_org, A_OWNER)
    token = mailed(r"/invite/(\S+)", A_OWNER)
    accepted = Api(live)("POST", url_of("api:invite-accept"), json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    assert Membership.objects.get(organization=b_org, user__email=A_OWNER).role == Role.EMPLOYEE
    assert Membership.objects.get(organization=a_org, user__email=A_OWNER).role == Role.OWNER


def test_nobody_can_sign_up_with_another_persons_address_and_keep_the_password(live, b_corp):
    # Account pre-hijacking: B's admin "signs up" a future A employee's address with a password of their own.
    anonymous = Api(live)
    started = anonymous("POST", url_of("api:signup"), json={"email": "future.hire@a-corp.test",
                                                             "password": PASSWORD, "organization_name": "Decoy"})
    assert started.status_code == 202
    assert not User.objects.filter(email="future.hire@a-corp.test").exists()
    guessed = anonymous("POST", url_of("api:signup-verify"), json={"email": "future.hire@a-corp.test",
                                                                    "code": "123456"})
    assert guessed.status_code == 400 and not User.objects.filter(email="future.hire@a-corp.test").exists()
    login = anonymous("POST", url_of("api:login"), json={"email": "future.hire@a-corp.test", "password": PASSWORD})
    assert login.status_code == 401


# 2. SSO domain claim --------------------------------------------------------------------------------------------


@pytest.fixture
def b_idp(b_corp) -> TestIdP:
    """B's own identity provider, whose key B controls."""
    _b_admin, b_org = b_corp
    idp = TestIdP(entity_id="https://idp.b-corp.test/metadata")
    idp_config_save(organization=b_org, metadata_xml=idp.metadata_xml(), preset="custom", enabled=True)
    return idp


def post_assertion(live: str, browser: requests.Session, idp: TestIdP, org: Organization, email: str,
                   **kwargs) -> requests.Response:
    saml = idp.response(acs_url=live + url_of("sso:acs", org), audience=live + url_of("sso:metadata", org),
                        email=email, **kwargs)
    return browser.post(live + url_of("sso:acs", org), {"SAMLResponse": saml}, allow_redirects=False, timeout=30)


def test_sso_refuses_a_domain_the_organization_has_not_verified(live, a_corp, b_corp, b_idp, dns):
    b_admin, b_org = b_corp
    saved = b_admin("PUT", tenant_url("sso", b_org), json={"allowed_domains": ["a-corp.test"]})
    assert saved.status_code == 400 and saved.json()["code"] == "domain_not_verified"
    # Claiming it is possible, but a claim proves nothing until DNS says so.
    claim = b_admin("POST", tenant_url("domain-list", b_org), json={"domain": "a-corp.test"})
    assert claim.status_code == 201 and claim.json()["status"] == "pending"
    verify = b_admin("POST", tenant_url("domain-verify", b_org, claim.json()['id']), json={})
    assert verify.status_code == 400 and verify.json()["code"] == "txt_not_found"
    assert b_admin("PUT", tenant_url("sso", b_org),
                   json={"allowed_domains": ["a-corp.test"]}).json()["code"] == "domain_not_verified"


def test_login_does_not_send_a_person_to_another_organizations_idp(live, a_corp, b_corp, b_idp):
    b_admin, b_org = b_corp
    # B imports A's owner as "its" employee and claims their domain (unverified).
    b_admin("POST", tenant_url("employee-list", b_org), json={"name": "Victim", "email": A_OWNER})
    b_admin("POST", tenant_url("domain-list", b_org), json={"domain": "a-corp.test"})
    browser = requests.Session()
    page = browser.get(live + url_of("sso:login"), timeout=30)
    csrf = html.fromstring(page.text).forms[0].fields["csrfmiddlewaretoken"]
    answer = browser.post(live + url_of("sso:login"), {"email": A_OWNER, "csrfmiddlewaretoken": csrf},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(url_of("sso:login-code"))
    assert f"/sso/{b_org.slug}/" not in answer.headers["Location"]


def test_b_idps_assertion_for_a_owners_address_signs_nobody_in(live, a_corp, b_corp, b_idp):
    _a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    b_admin("POST", tenant_url("employee-list", b_org), json={"name": "Victim", "email": A_OWNER})
    browser = requests.Session()
    answer = post_assertion(live, browser, b_idp, b_org, A_OWNER)
    assert answer.status_code == 409 and "already exists" in answer.text
    assert "sessionid" not in browser.cookies
    assert browser.get(live + tenant_url("me", a_org), timeout=30).status_code in (401, 403)
    assert not SsoIdentity.objects.exists()
    assert not Membership.objects.filter(organization=b_org, user__email=A_OWNER).exists()


def test_a_session_from_b_idp_opens_nothing_in_a_even_for_someone_in_both(live, a_corp, b_corp, b_idp):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    # Someone legitimately in both: A's owner accepted B's invite with their own password.
    invite_from_b(b_admin, b_org, A_OWNER)
    Api(live)("POST", url_of("api:invite-accept"), json={"token": mailed(r"/invite/(\S+)", A_OWNER),
                                                      "password": PASSWORD})
    browser = requests.Session()
    answer = post_assertion(live, browser, b_idp, b_org, A_OWNER)
    assert answer.status_code == 302 and "sessionid" in browser.cookies
    assert browser.get(live + tenant_url("me", b_org), timeout=30).status_code in (200, 404)
    into_a = browser.get(live + tenant_url("employee-list", a_org), timeout=30)
    assert into_a.status_code == 403 and into_a.json()["code"] == "sign_in_required"
    portal = browser.get(live + url_of("portal:admin-dashboard", a_org), allow_redirects=False, timeout=30)
    assert portal.status_code == 302 and portal.headers["Location"].startswith(url_of("sso:login"))
    # The link names B's IdP and B only.
    link = SsoIdentity.objects.get()
    assert link.organization == b_org and link.idp_entity_id == b_idp.entity_id and link.name_id == A_OWNER


def test_a_domain_verified_by_one_organization_cannot_be_claimed_by_another(live, a_corp, b_corp, dns):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    claim = a_owner("POST", tenant_url("domain-list", a_org), json={"domain": "a-corp.test"}).json()
    assert claim["txt_record_name"] == "_headshots-verification.a-corp.test"
    dns.records[claim["txt_record_name"]] = [claim["txt_record_value"]]
    verified = a_owner("POST", tenant_url("domain-verify", a_org, claim['id']), json={})
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    taken = b_admin("POST", tenant_url("domain-list", b_org), json={"domain": "A-Corp.test"})
    assert taken.status_code == 409 and taken.json()["code"] == "domain_taken"
    assert a_org.name not in taken.text and f'"{a_org.slug}"' not in taken.text


def test_a_pending_claim_cannot_be_verified_with_another_organizations_record(live, a_corp, b_corp, dns):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    a_claim = a_owner("POST", tenant_url("domain-list", a_org), json={"domain": "shared.test"}).json()
    b_claim = b_admin("POST", tenant_url("domain-list", b_org), json={"domain": "shared.test"}).json()
    dns.records[a_claim["txt_record_name"]] = [a_claim["txt_record_value"]]  # A's record is published
    refused = b_admin("POST", tenant_url("domain-verify", b_org, b_claim['id']), json={})
    assert refused.status_code == 400 and refused.json()["code"] == "txt_not_found"
    assert a_owner("POST", tenant_url("domain-verify", a_org, a_claim['id']),
                   json={}).json()["status"] == "verified"


def test_email_verification_goes_to_an_admin_mailbox_and_never_for_public_mail_domains(live, b_corp):
    b_admin, b_org = b_corp
    url = tenant_url("domain-list", b_org)
    public = b_admin("POST", url, json={"domain": "gmail.com", "method": "email", "mailbox": "admin"})
    assert public.status_code == 400 and public.json()["code"] == "domain_public"
    personal = b_admin("POST", url, json={"domain": "b-corp.test", "method": "email", "mailbox": "mallory"})
    assert personal.status_code == 400
    claim = b_admin("POST", url, json={"domain": "b-corp.test", "method": "email", "mailbox": "postmaster"})
    assert claim.status_code == 201 and claim.json()["verification_email"] == "postmaster@b-corp.test"
    code = mailed(r"\b(\d{6})\b", "postmaster@b-corp.test")
    verify = tenant_url("domain-verify", b_org, claim.json()['id'])
    assert b_admin("POST", verify, json={"code": "000000" if code != "000000" else "111111"}).status_code == 400
    assert b_admin("POST", verify, json={"code": code}).json()["status"] == "verified"


# 3-5. Membership lifecycle --------------------------------------------------------------------------------------


def test_deactivation_withdraws_pending_invites(live, a_corp):
    a_owner, a_org = a_corp
    created = a_owner("POST", tenant_url("employee-list", a_org), json={"name": "Leaver",
                                                                         "email": "leaver@a-corp.test"}).json()
    a_owner("POST", tenant_url("employee-invite", a_org, created['id']))
    token = mailed(r"/invite/(\S+)", "leaver@a-corp.test")
    off = a_owner("PATCH", tenant_url("employee-detail", a_org, created['id']), json={"active": False})
    assert off.status_code == 200
    accepted = Api(live)("POST", url_of("api:invite-accept"), json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 400 and accepted.json()["code"] == "invite_revoked"
    assert not User.objects.filter(email="leaver@a-corp.test").exists()
    again = a_owner("POST", tenant_url("employee-invite", a_org, created['id']))
    assert again.status_code == 409 and again.json()["code"] == "employee_inactive"


def owner_as_employee(org: Organization, email: str) -> Employee:
    return make_employee(org, User.objects.get(email=email), name="The Owner", email=email)


def test_the_last_owner_cannot_be_deactivated_or_deleted_by_any_path(live, a_corp, b_corp):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    employee = owner_as_employee(a_org, A_OWNER)
    # A's owner is also in B; ending them in A must not touch B.
    Membership.objects.create(organization=b_org, user=User.objects.get(email=A_OWNER), role=Role.EMPLOYEE)
    url = tenant_url("employee-detail", a_org, employee.pk)
    off = a_owner("PATCH", url, json={"active": False})
    assert off.status_code == 409 and off.json()["code"] == "last_owner"
    gone = a_owner("DELETE", url)
    assert gone.status_code == 409 and gone.json()["code"] == "last_owner"
    _token, secret = scim_token_create(organization=a_org, created_by=None, name="Entra ID")
    scim = requests.Session()
    scim.headers["Authorization"] = f"Bearer {secret}"
    scim_url = live + url_of("scim:user", employee.pk)
    patched = scim.patch(scim_url, json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                         "Operations": [{"op": "replace", "value": {"active": False}}]}, timeout=30)
    assert patched.status_code == 409, patched.text
    assert scim.delete(scim_url, timeout=30).status_code == 409
    employee.refresh_from_db()
    assert employee.active
    assert a_owner("GET", tenant_url("employee-list", a_org)).status_code == 200
    assert Membership.objects.filter(user__email=A_OWNER).count() == 2


def test_deleting_a_person_ends_their_access_here_at_once_and_nowhere_else(live, a_corp, b_corp):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    # A's second admin, who is also B's owner's colleague in B.
    colleague, slug = sign_up(live, "second@a-corp.test", "Second Co")
    user = User.objects.get(email="second@a-corp.test")
    Membership.objects.create(organization=a_org, user=user, role=Role.ADMIN)
    employee = make_employee(a_org, user, email="second@a-corp.test")
    assert colleague("GET", tenant_url("employee-list", a_org)).status_code == 200
    _token, secret = scim_token_create(organization=a_org, created_by=None, name="Okta")
    deleted = requests.delete(live + url_of("scim:user", employee.pk),
                              headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert deleted.status_code == 204
    # The same token, the very next request: A is gone for them, their own organization is not.
    assert colleague("GET", tenant_url("employee-list", a_org)).status_code == 404
    assert colleague("POST", tenant_url("api-key-list", a_org), json={"name": "x"}).status_code == 404
    assert colleague("GET", tenant_url("employee-list", slug)).status_code == 200


def test_api_deletion_and_deactivation_end_sessions_too(live, a_corp):
    a_owner, a_org = a_corp
    user = User.objects.create_user("ed@a-corp.test", None)
    Membership.objects.create(organization=a_org, user=user, role=Role.ADMIN)
    employee = make_employee(a_org, user, email="ed@a-corp.test")
    browser = requests.Session()
    page = browser.get(live + url_of("sso:login"), timeout=30)
    csrf = html.fromstring(page.text).forms[0].fields["csrfmiddlewaretoken"]
    browser.post(live + url_of("sso:login"), {"email": "ed@a-corp.test", "csrfmiddlewaretoken": csrf}, timeout=30)
    code_page = browser.get(live + url_of("sso:login-code"), timeout=30)
    csrf = html.fromstring(code_page.text).forms[0].fields["csrfmiddlewaretoken"]
    browser.post(live + url_of("sso:login-code"), {"code": mailed(r"\b(\d{6})\b", "ed@a-corp.test"),
                                        "csrfmiddlewaretoken": csrf}, timeout=30)
    assert browser.get(live + url_of("portal:admin-dashboard", a_org), timeout=30).status_code == 200
    assert a_owner("PATCH", tenant_url("employee-detail", a_org, employee.pk),
                   json={"active": False}).status_code == 200
    assert browser.get(live + url_of("portal:admin-dashboard", a_org), timeout=30).status_code == 404


# Roles ----------------------------------------------------------------------------------------------------------


def test_owners_grant_and_revoke_admin_and_nobody_rises_above_their_own_role(live, a_corp):
    a_owner, a_org = a_corp
    members = tenant_url("member-list", a_org)
    hire, _slug = sign_up(live, "hire@a-corp.test", "Hire's Own")
    hire_user = User.objects.get(email="hire@a-corp.test")
    member = Membership.objects.create(organization=a_org, user=hire_user, role=Role.EMPLOYEE)
    assert hire("GET", members).status_code == 403  # employees don't manage roles
    hire_member = tenant_url("member-detail", a_org, member.pk)
    granted = a_owner("PATCH", hire_member, json={"role": "admin"})
    assert granted.status_code == 200 and granted.json()["role"] == "admin"
    owner_member = Membership.objects.get(organization=a_org, user__email=A_OWNER)
    # An admin can't make anyone an owner, nor touch the owner.
    owner = tenant_url("member-detail", a_org, owner_member.pk)
    assert hire("PATCH", hire_member, json={"role": "owner"}).status_code == 403
    assert hire("PATCH", owner, json={"role": "employee"}).status_code == 403
    assert hire("DELETE", owner).status_code == 403
    # The last owner can't step down or be removed; after a transfer, the old owner is an admin.
    demote = a_owner("PATCH", owner, json={"role": "admin"})
    assert demote.status_code == 409 and demote.json()["code"] == "last_owner"
    moved = a_owner("POST", tenant_url("member-transfer-ownership", a_org, member.pk))
    assert moved.status_code == 200 and moved.json()["role"] == "owner"
    assert Membership.objects.get(pk=owner_member.pk).role == Role.ADMIN
    from audit.models import AuditEvent

    actions = set(AuditEvent.objects.filter(organization_id=a_org.pk).values_list("action", flat=True))
    assert {"membership.role_changed", "membership.ownership_transferred"} <= actions


def test_another_organizations_members_and_domains_are_404(live, a_corp, b_corp):
    a_owner, a_org = a_corp
    b_admin, b_org = b_corp
    a_member = Membership.objects.get(organization=a_org)
    a_domain = verify_domain(a_org, "a-corp.test")
    for method, path, pk, body in (("GET", "member-detail", a_member.pk, None),
                                   ("PATCH", "member-detail", a_member.pk, {"role": "employee"}),
                                   ("DELETE", "member-detail", a_member.pk, None),
                                   ("POST", "member-transfer-ownership", a_member.pk, None),
                                   ("GET", "domain-detail", a_domain.pk, None),
                                   ("POST", "domain-verify", a_domain.pk, {}),
                                   ("DELETE", "domain-detail", a_domain.pk, None)):
        for slug in (a_org.slug, b_org.slug):
            response = b_admin(method, tenant_url(path, slug, pk), json=body)
            assert response.status_code == 404, (method, path, slug, response.status_code)
    assert Membership.objects.get(pk=a_member.pk).role == Role.OWNER
    assert OrganizationDomain.objects.filter(pk=a_domain.pk, verified_at__isnull=False).exists()


# Require SSO ----------------------------------------------------------------------------------------------------


def test_an_organization_that_requires_sso_is_reached_only_through_its_own_idp(live, b_corp, b_idp):
    b_owner, b_org = b_corp
    settings_url = tenant_url("sso", b_org)
    untested = b_owner("PUT", settings_url, json={"require_sso": True})
    assert untested.status_code == 409 and untested.json()["code"] == "sso_untested"
    # An employee signs in through B's IdP once (the test sign-in) ...
    verify_domain(b_org, "b-corp.test")
    idp_config_save(organization=b_org, allowed_domains=["b-corp.test"])
    browser = requests.Session()
    assert post_assertion(live, browser, b_idp, b_org, "worker@b-corp.test").status_code == 302
    assert b_owner("PUT", settings_url, json={"require_sso": True}).json()["require_sso"] is True
    # ... so that session keeps working, a password token of a non-owner doesn't, the owner's does (break-glass).
    assert browser.get(live + tenant_url("me", b_org), timeout=30).status_code in (200, 404)
    worker = User.objects.get(email="worker@b-corp.test")
    worker.set_password(PASSWORD)
    worker.save()
    token = Api(live)("POST", url_of("api:login"), json={"email": "worker@b-corp.test", "password": PASSWORD})
    refused = Api(live, token.json()["token"])("GET", tenant_url("me", b_org))
    assert refused.status_code == 403 and refused.json()["code"] == "sso_required"
    assert b_owner("GET", tenant_url("employee-list", b_org)).status_code == 200


def test_the_same_signed_assertion_from_b_cannot_be_replayed_into_a(live, a_corp, b_corp, b_idp):
    # A response B's IdP signed for B's ACS, posted to A's ACS: A doesn't trust B's key, and the audience is B's.
    _a_owner, a_org = a_corp
    a_idp = TestIdP(entity_id="https://idp.a-corp.test/metadata")
    idp_config_save(organization=a_org, metadata_xml=a_idp.metadata_xml(), preset="custom", enabled=True)
    make_employee(a_org, email="staff@a-corp.test")
    saml = b_idp.response(acs_url=live + url_of("sso:acs", b_corp[1]),
                          audience=live + url_of("sso:metadata", b_corp[1]), email="staff@a-corp.test")
    browser = requests.Session()
    answer = browser.post(live + url_of("sso:acs", a_org), {"SAMLResponse": saml}, allow_redirects=False, timeout=30)
    assert answer.status_code == 400 and "sessionid" not in browser.cookies
    forged = a_idp.response(acs_url=live + url_of("sso:acs", a_org), audience=live + url_of("sso:metadata", a_org),
                            email="staff@a-corp.test", key=b_idp)
    answer = browser.post(live + url_of("sso:acs", a_org), {"SAMLResponse": forged}, allow_redirects=False,
                          timeout=30)
    assert answer.status_code == 400 and "signature_invalid" in answer.text
