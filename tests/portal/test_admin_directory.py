"""The admin portal's Directory connections page: write-only credentials, a connection test against a real (local)
vendor server, per-employee push status with a retry, who linked Slack; admins only, ids scoped to the
organization."""
from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from connectors.models import Connection, PhotoSync, SlackConnection, SyncStatus
from tenancy.models import Role
from tests.factories import make_employee, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db
GOOD_KEY = "bamboo-key-1"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def directory(org) -> str:
    return url_of("portal:admin-directory", org)


@pytest.fixture
def bamboohr(allow_test_origin):
    """A BambooHR stand-in: /v1/meta/fields answers 200 for the right API key (HTTP Basic user), 401 otherwise."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            user = base64.b64decode(self.headers.get("Authorization", "Basic ").split()[-1] or b"").decode()
            ok = self.path == "/api/gateway.php/acme/v1/meta/fields" and user.startswith(f"{GOOD_KEY}:")
            body = b'[{"id": "1", "name": "First name"}]' if ok else b'{"message": "Invalid API key"}'
            self.send_response(200 if ok else 401)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield allow_test_origin(f"http://127.0.0.1:{server.server_address[1]}"), seen
    server.shutdown()
    server.server_close()


def test_credentials_are_write_only_and_the_test_signs_in_to_the_vendor(org_a, bamboohr):
    base, seen = bamboohr
    client = signed_in(make_user(org_a, Role.ADMIN))
    client.post(f"{directory(org_a)}bamboohr/save", {"company_domain": "acme", "api_key": "wrong-key",
                                                     "base_url": base, "enabled": "on"})
    connection = Connection.objects.get(organization=org_a, kind="bamboohr")
    page = client.get(directory(org_a)).content.decode()
    assert "wrong-key" not in page and "(set)" in page
    failed = client.post(f"{directory(org_a)}connections/{connection.pk}", {"action": "test"}, follow=True)
    assert "the test failed: credentials rejected by BambooHR" in failed.content.decode()
    # Rotate just the key: the blank company domain keeps its stored value.
    client.post(f"{directory(org_a)}bamboohr/save", {"company_domain": "", "api_key": GOOD_KEY, "base_url": base,
                                                     "enabled": "on"})
    connection.refresh_from_db()
    assert connection.credentials == {"company_domain": "acme", "api_key": GOOD_KEY}
    passed = client.post(f"{directory(org_a)}connections/{connection.pk}", {"action": "test"}, follow=True)
    assert "BambooHR: signed in with these credentials." in passed.content.decode()
    assert seen[-1] == "/api/gateway.php/acme/v1/meta/fields"


def test_missing_credentials_or_a_private_url_are_refused(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    missing = client.post(f"{directory(org_a)}microsoft_graph/save", {"tenant_id": "t"}, follow=True)
    assert "These credentials are missing: client_id, client_secret" in missing.content.decode()
    private = client.post(f"{directory(org_a)}bamboohr/save", {"company_domain": "acme", "api_key": "k",
                                                                "base_url": "https://10.0.0.8"}, follow=True)
    assert "public address" in private.content.decode()
    assert not Connection.objects.exists()


def test_push_status_shows_errors_and_slack_links(org_a):
    grace = make_employee(org_a, name="Grace Hopper")
    PhotoSync.objects.create(organization=org_a, employee=grace, destination="slack", status=SyncStatus.FAILED,
                             attempts=3, last_error="Slack refused the photo: too small")
    SlackConnection.objects.create(organization=org_a, employee=grace, access_token="xoxp-1", team_id="T1",
                                   slack_user_id="U1")
    client = signed_in(make_user(org_a, Role.ADMIN))
    page = client.get(directory(org_a), {"status": "failed"}).content.decode()
    assert "Slack refused the photo: too small" in page and 'class="slack-link">Grace Hopper' in page
    assert "xoxp-1" not in page
    sync = PhotoSync.objects.get()
    retried = client.post(f"{directory(org_a)}pushes/{sync.pk}/retry", follow=True)
    assert "no approved headshot to push" in retried.content.decode()


def test_another_organizations_connection_and_pushes_are_404(org_a, org_b):
    theirs = Connection.objects.create(organization=org_b, kind="bamboohr",
                                       credentials={"company_domain": "globex", "api_key": "their-key"})
    their_sync = PhotoSync.objects.create(organization=org_b, employee=make_employee(org_b), destination="bamboohr",
                                          status=SyncStatus.FAILED)
    client = signed_in(make_user(org_a, Role.OWNER))
    for action in ("test", "delete"):
        assert client.post(f"{directory(org_a)}connections/{theirs.pk}", {"action": action}).status_code == 404
    assert client.post(f"{directory(org_a)}pushes/{their_sync.pk}/retry").status_code == 404
    # Saving org_a's own BambooHR never touches org_b's.
    client.post(f"{directory(org_a)}bamboohr/save", {"company_domain": "acme", "api_key": "mine"})
    theirs.refresh_from_db()
    assert theirs.credentials["api_key"] == "their-key"
    assert Connection.objects.filter(organization=org_a).count() == 1


def test_only_admins_manage_connections(org_a, org_b):
    form = {"company_domain": "acme", "api_key": "k"}
    assert Client().post(f"{directory(org_a)}bamboohr/save", form).status_code == 302
    assert signed_in(make_user(org_a, Role.EMPLOYEE)).post(f"{directory(org_a)}bamboohr/save", form).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(f"{directory(org_a)}bamboohr/save", form).status_code == 404
    assert not Connection.objects.exists()
