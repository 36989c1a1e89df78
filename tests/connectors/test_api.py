"""The admin API for connections and photo-sync status, the employee's Slack link, and the Slack OAuth flow."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from connectors.models import Connection, Destination, PhotoSync, SlackConnection, SyncStatus
from tests.factories import client_for
from tests.urls import tenant_url, url_of

from .conftest import sa_json

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

GRAPH = {"tenant_id": "contoso", "client_id": "app", "client_secret": "very-secret-value-1"}


def test_admin_creates_reads_updates_and_deletes_a_connection_without_ever_seeing_credentials(people, org_a):
    api = client_for(people["admin"])
    created = api.post(tenant_url("connection-list", org_a), {"kind": "microsoft_graph", "credentials": GRAPH,
                                                     "base_url": "https://graph.microsoft.us"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["credentials_set"] == ["client_id", "client_secret", "tenant_id"] and "credentials" not in body
    url = tenant_url("connection-detail", org_a, body['id'])
    rotated = api.patch(url, {"credentials": {"client_secret": "rotated-secret-2"}, "enabled": False}, format="json")
    assert rotated.status_code == 200 and rotated.json()["enabled"] is False
    stored = Connection.objects.get(pk=body["id"])
    assert stored.credentials == {**GRAPH, "client_secret": "rotated-secret-2"}  # merged: one secret rotated
    for response in (created, rotated, api.get(url), api.get(tenant_url("connection-list", org_a))):
        assert b"very-secret-value-1" not in response.content and b"rotated-secret-2" not in response.content
    assert api.delete(url).status_code == 204
    assert not Connection.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize("payload,code", [
    ({"kind": "microsoft_graph", "credentials": {"tenant_id": "t"}}, "missing_credentials"),
    ({"kind": "bamboohr", "credentials": {"company_domain": "acme", "api_key": "k", "password": "x"}},
     "unknown_credentials"),
    ({"kind": "google_directory", "credentials": {"service_account": "{}", "admin_email": "a@x.com"}},
     "invalid_credentials"),
    ({"kind": "microsoft_graph", "credentials": GRAPH, "base_url": "http://169.254.169.254"}, "invalid_url"),
    ({"kind": "workday", "credentials": {}}, "invalid"),
])
def test_bad_connections_get_a_clear_400(payload, code, people, org_a):
    response = client_for(people["admin"]).post(tenant_url("connection-list", org_a), payload, format="json")
    assert response.status_code == 400 and response.json()["code"] == code, response.content
    assert not Connection.objects.exists()


def test_a_second_connection_of_the_same_kind_is_a_conflict(people, org_a, service_account):
    api = client_for(people["admin"])
    payload = {"kind": "google_directory",
               "credentials": {"service_account": sa_json(service_account), "admin_email": "admin@example.com"}}
    assert api.post(tenant_url("connection-list", org_a), payload, format="json").status_code == 201
    second = api.post(tenant_url("connection-list", org_a), payload, format="json")
    assert second.status_code == 409 and second.json()["code"] == "duplicate_connection"
    assert b"PRIVATE KEY" not in second.content


def _row(employee, destination, status, error=""):
    return PhotoSync.objects.create(organization=employee.organization, employee=employee, destination=destination,
                                    status=status, last_error=error, attempts=1)


def test_photo_syncs_list_filters_by_status_and_destination(people, org_a):
    employee = people["employee"]
    _row(employee, Destination.MICROSOFT_GRAPH, SyncStatus.FAILED, "credentials rejected by Microsoft 365: nope")
    _row(employee, Destination.SLACK, SyncStatus.SYNCED)
    api = client_for(people["admin"])
    everything = api.get(tenant_url("photo-sync-list", org_a)).json()
    assert everything["count"] == 2
    failed = api.get(tenant_url("photo-sync-list", org_a), {"status": "failed"}).json()["results"]
    assert [(r["destination"], r["employee_email"], r["last_error"]) for r in failed] == [
        ("microsoft_graph", "ada@acme.example", "credentials rejected by Microsoft 365: nope")]
    slack_rows = api.get(tenant_url("photo-sync-list", org_a), {"destination": "slack", "employee": employee.pk}).json()
    assert [r["status"] for r in slack_rows["results"]] == ["synced"]
    bad = api.get(tenant_url("photo-sync-list", org_a), {"status": "lost"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_status"


def test_retry_queues_a_fresh_round_with_the_current_approved_photo(people, org_a, redis_broker, graph_server):
    from connectors.services import connection_create

    connection = connection_create(organization=org_a, kind="microsoft_graph", credentials=graph_server.credentials(),
                                   base_url=graph_server.url, auth_url=graph_server.url)
    headshot = people["headshot"]
    headshot.approved = True
    headshot.save()
    row = _row(people["employee"], Destination.MICROSOFT_GRAPH, SyncStatus.FAILED, "was down")
    row.connection = connection
    row.attempts = 3
    row.save()
    api = client_for(people["admin"])
    response = api.post(tenant_url("photo-sync-retry", org_a, row.pk))
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 0
    assert response.json()["headshot"] == headshot.pk and response.json()["last_error"] == ""
    again = api.post(tenant_url("photo-sync-retry", org_a, row.pk))
    assert again.status_code == 409 and again.json()["code"] == "already_pending"


def test_retry_without_an_approved_headshot_is_refused(people, org_a):
    row = _row(people["employee"], Destination.SLACK, SyncStatus.FAILED)
    response = client_for(people["admin"]).post(tenant_url("photo-sync-retry", org_a, row.pk))
    assert response.status_code == 409 and response.json()["code"] == "no_approved_headshot"


def test_employee_sees_and_ends_their_slack_link_but_never_the_token(people, org_a, slack_server):
    token = slack_server.user_token("U0ADA")
    SlackConnection.objects.create(organization=org_a, employee=people["employee"], access_token=token,
                                   team_id="T0ACME", slack_user_id="U0ADA")
    _row(people["employee"], Destination.SLACK, SyncStatus.FAILED, "Slack refused the photo: bad_image (bad_image)")
    me = client_for(people["user"])
    state = me.get(tenant_url("my-slack-connection", org_a))
    assert state.status_code == 200 and token.encode() not in state.content
    assert state.json() | {"connected_at": None} == {
        "available": True, "connected": True, "connect_url": url_of("connectors:slack-start", org_a),
        "team_id": "T0ACME", "slack_user_id": "U0ADA", "connected_at": None, "photo_status": "failed",
        "photo_error": "Slack refused the photo: bad_image (bad_image)"}
    assert me.delete(tenant_url("my-slack-connection", org_a)).status_code == 204
    assert not SlackConnection.objects.exists() and not PhotoSync.objects.filter(destination="slack").exists()
    assert me.get(tenant_url("my-slack-connection", org_a)).json()["connected"] is False
    assert me.delete(tenant_url("my-slack-connection", org_a)).status_code == 404


def test_me_slack_without_a_slack_app_says_so(people, org_a, settings):
    settings.SLACK_CLIENT_ID = settings.SLACK_CLIENT_SECRET = ""
    body = client_for(people["user"]).get(tenant_url("my-slack-connection", org_a)).json()
    assert body["available"] is False and body["connect_url"] is None


# Slack OAuth -----------------------------------------------------------------------------------------------------


def browser_for(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def consent_on_slack(authorize_url: str) -> str:
    """What the person's browser does at Slack: approve, and come back with the callback URL."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.content
    return answer.headers["Location"]


def test_slack_oauth_connects_the_employee_and_pushes_their_approved_photo(people, org_a, slack_server, settings,
                                                                           django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "https://headshots.example"
    headshot = people["headshot"]
    headshot.approved = True
    headshot.save()
    browser = browser_for(people["user"])
    start = browser.get(url_of("connectors:slack-start", org_a))
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{slack_server.url}/oauth/v2/authorize"
    assert query["user_scope"] == "users.profile:write" and query["client_id"] == slack_server.client_id
    assert query["redirect_uri"] == "https://headshots.example/connect/slack/callback"
    callback = urlsplit(consent_on_slack(start["Location"]))
    with django_capture_on_commit_callbacks() as queued:
        done = browser.get(callback.path, dict(parse_qs(callback.query)))
    assert done.status_code == 200 and b"Slack connected" in done.content
    link = SlackConnection.objects.get(employee=people["employee"])
    assert link.access_token.startswith("xoxp-") and link.team_id == "T0ACME"
    assert link.access_token in slack_server.users
    row = PhotoSync.objects.get(employee=people["employee"], destination="slack")
    assert row.status == "pending" and row.headshot_id == headshot.pk and len(queued) == 1
    # The code was single-use: replaying the callback (a new state is needed anyway) connects nothing new.
    replay = browser.get(callback.path, dict(parse_qs(callback.query)))
    assert replay.status_code == 400


def test_slack_callback_refuses_a_state_from_another_session(people, org_a, slack_server):
    victim_start = browser_for(people["user"]).get(url_of("connectors:slack-start", org_a))
    callback = urlsplit(consent_on_slack(victim_start["Location"]))
    # Another browser (an attacker's login CSRF, or a stolen link) presents the same code and state.
    other = browser_for(people["user"])
    response = other.get(callback.path, dict(parse_qs(callback.query)))
    assert response.status_code == 400 and b"another session" in response.content
    assert not SlackConnection.objects.exists()


def test_slack_callback_refuses_a_tampered_state(people, org_a, slack_server):
    browser = browser_for(people["user"])
    start = browser.get(url_of("connectors:slack-start", org_a))
    callback = urlsplit(consent_on_slack(start["Location"]))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    params["state"] = params["state"][:-2] + ("AA" if params["state"][-2:] != "AA" else "BB")
    response = browser.get(callback.path, params)
    assert response.status_code == 400 and not SlackConnection.objects.exists()


def test_slack_flow_needs_a_signed_in_employee_of_that_org(people, org_a, org_b, slack_server):
    anonymous = Client().get(url_of("connectors:slack-start", org_a))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(url_of("sso:login"))
    assert browser_for(people["admin"]).get(url_of("connectors:slack-start", org_a)).status_code == 404  # no profile
    assert browser_for(people["user"]).get(url_of("connectors:slack-start", org_b)).status_code == 404


def test_slack_denied_on_the_consent_page_stores_nothing(people, org_a, slack_server):
    browser = browser_for(people["user"])
    browser.get(url_of("connectors:slack-start", org_a))
    response = browser.get(url_of("connectors:slack-callback"), {"error": "access_denied", "state": "x"})
    assert response.status_code == 400 and b"access_denied" in response.content
    assert not SlackConnection.objects.exists()


def test_stored_connection_json_never_leaks_through_the_schema(people, org_a):
    # The OpenAPI schema documents credentials as a write-only request field only.
    schema = client_for(people["admin"]).get(url_of("schema"), {"format": "json"})
    assert schema.status_code == 200
    components = json.loads(schema.content)["components"]["schemas"]
    assert "credentials" not in components["ConnectionOut"]["properties"]
    assert "credentials" in components["ConnectionInRequest"]["properties"]
