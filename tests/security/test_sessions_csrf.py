"""Sessions and CSRF with production settings: cookie flags of a real sign-in, a CSRF token in every portal form
(found by walking the portal as an employee and as an admin), 403 for every form and session API POST without it,
and the security headers on pages and the API."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core import mail
from django.test import Client

from tests.api.conftest import populate
from tests.factories import grant_consent
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    """The values settings.py gives a production deployment (DJANGO_DEBUG off)."""
    settings.DEBUG = False
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    return settings


@pytest.fixture
def tenant(org_a):
    tenant = populate(org_a)
    grant_consent(tenant.employee)
    return tenant


class PageParser(HTMLParser):
    """Same-site links, and every <form method=post> with its action and its input names."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._form = {"action": attrs.get("action") or "", "inputs": set()}
            self.forms.append(self._form)
        elif tag in ("input", "button", "select", "textarea") and self._form is not None and attrs.get("name"):
            self._form["inputs"].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def walk_portal(client: Client, start: list[str], limit: int = 60) -> dict[str, list[dict]]:
    """GET every same-site portal page reachable from `start` (links only, never forms): {page: its POST forms}."""
    seen: dict[str, list[dict]] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        if response.status_code in (301, 302):
            queue.append(response["Location"])
            continue
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = PageParser()
        parser.feed(response.content.decode())
        for form in parser.forms:
            form["action"] = urljoin(url, form["action"]) if form["action"] else url
        seen[url] = parser.forms
        for href in parser.links:
            parts = urlsplit(urljoin(url, href))
            logout = url_of("sso:logout")
            if not parts.netloc and parts.path.startswith(("/app/", "/privacy/")) and parts.path != logout:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def sign_in_with_an_emailed_code(client: Client, email: str):
    assert client.get(url_of("sso:login"), secure=True).status_code == 200
    response = client.post(url_of("sso:login"), {"email": email}, secure=True)
    assert response.status_code == 302 and response["Location"] == url_of("sso:login-code")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    return client.post(url_of("sso:login-code"), {"code": code}, secure=True)


def test_a_real_sign_in_sets_secure_httponly_lax_cookies_and_a_new_session(production, tenant):
    client = Client()
    client.get(url_of("sso:login"), secure=True)
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    response = sign_in_with_an_emailed_code(client, tenant.employee_user.email)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session.value and session.value != before  # a fresh session key on sign-in (no fixation)
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    csrf = client.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax"
    assert client.get(url_of("portal:orgs"), secure=True).status_code in (200, 302)
    assert client.session["_auth_user_id"] == str(tenant.employee_user.pk)


def test_https_pages_carry_hsts_in_production(production):
    response = Client().get(url_of("sso:login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("name", ["sso:login", "portal:home", "portal:admin-dashboard", "api:my-organizations",
                                  "healthz"])
def test_security_headers_are_on_pages_and_api(name, production, tenant):
    client = Client()
    client.force_login(tenant.admin if "admin" in name else tenant.employee_user)
    url = url_of(name, tenant.org) if name.startswith("portal:") else url_of(name)
    response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.fixture
def portal_forms(production, tenant) -> list[tuple[str, str, dict]]:
    """Every POST form of the portal, as the employee and as the admin sees it: (who, page, form)."""
    walks = {"employee": (tenant.employee_user, [url_of("portal:orgs"), url_of("portal:home", tenant.org)]),
             "admin": (tenant.admin, [url_of("portal:admin-dashboard", tenant.org)])}
    forms = []
    for who, (user, start) in walks.items():
        client = Client()
        client.force_login(user)
        for page, page_forms in walk_portal(client, start).items():
            forms += [(who, page, form) for form in page_forms]
    # Pages only a signed-out visitor sees: the sign-in form and the code form.
    anonymous = Client()
    anonymous.post(url_of("sso:login"), {"email": tenant.employee_user.email})
    for page, page_forms in walk_portal(anonymous, [url_of("sso:login"), url_of("sso:login-code")]).items():
        forms += [("anonymous", page, form) for form in page_forms]
    return forms


def test_the_walk_reaches_the_portal_forms_that_matter(portal_forms):
    actions = {form["action"] for _, _, form in portal_forms}
    # Fragments of the portal forms' actions (their org slug and ids vary), matched as substrings.
    for fragment in ("/logout", "/consent", "/selfies", "/generate", "/headshots/", "/admin/employees/invite",
                     "/admin/employees/import", "/admin/brand-kits/", "/admin/review/", "/login", "/login/code",
                     "/admin/settings/organization", "/admin/settings/api-keys/", "/admin/settings/webhooks/",
                     "/admin/settings/sso/", "/admin/settings/provisioning/", "/admin/settings/directory/",
                     "/admin/access/members/"):
        assert any(fragment in action for action in actions), (fragment, sorted(actions))


def test_every_portal_form_carries_a_csrf_token(portal_forms):
    missing = [(who, page, form["action"]) for who, page, form in portal_forms
               if "csrfmiddlewaretoken" not in form["inputs"]]
    assert not missing, missing


def test_every_portal_form_action_refuses_a_post_without_the_token(portal_forms, tenant):
    users = {"employee": tenant.employee_user, "admin": tenant.admin}
    checked = set()
    for who, _, form in portal_forms:
        if (who, form["action"]) in checked:
            continue
        checked.add((who, form["action"]))
        client = Client(enforce_csrf_checks=True)
        if who in users:
            client.force_login(users[who])
        fields = {name: "x" for name in form["inputs"] if name != "csrfmiddlewaretoken"}
        # Same-origin (Origin header), so the missing token is the only thing wrong with the request.
        response = client.post(form["action"], fields, secure=True, HTTP_ORIGIN="https://testserver")
        assert response.status_code == 403, (who, form["action"], response.status_code)
        assert b"CSRF" in response.content
    assert len(checked) >= 15


def test_a_post_with_the_token_goes_through(production, tenant):
    # The control for the 403s above: the same client, the token from the page, and the form works.
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.employee_user)
    client.get(url_of("sso:login"), secure=True)  # a page with a form sets the CSRF cookie
    response = client.post(url_of("sso:logout"), {"csrfmiddlewaretoken": client.cookies["csrftoken"].value},
                           secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 302 and response["Location"] == url_of("sso:login")


@pytest.mark.parametrize("method,path,data", [
    ("post", "team-list", {"name": "Design"}),
    ("post", "employee-list", {"name": "Eve", "email": "eve@example.com"}),
    ("patch", "organization-settings", {"selfies_required": 8}),
    ("delete", "invite-detail", None),
    ("post", "my-consent", None),
    ("post", "brand-kit-list", {"name": "Kit"}),
])
def test_session_api_writes_without_the_csrf_token_are_refused(method, path, data, tenant):
    user = tenant.employee_user if path.startswith("my-") else tenant.admin
    url = tenant_url(path, tenant.org, *([tenant.invite.pk] if path == "invite-detail" else []))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = getattr(client, method)(url, data, content_type="application/json")
    assert response.status_code == 403, (path, response.status_code)
    assert "CSRF" in response.json()["detail"]
    # With the token from the cookie, the same session call reaches the view.
    client.get(url_of("sso:login"))  # a page with a form sets the CSRF cookie
    response = getattr(client, method)(url, data, content_type="application/json",
                                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code != 403 or "CSRF" not in response.json().get("detail", ""), path
