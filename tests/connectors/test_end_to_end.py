"""End to end: an admin approves through the API -> the signal queues one job per destination in Redis -> a real
dramatiq worker renders and pushes over HTTP to the contract servers -> the rows say synced (or why not)."""
from __future__ import annotations

import pytest

from connectors.models import DeletionStatus, PhotoDeletion, PhotoSync, SlackConnection
from connectors.services import connection_create, photo_delete_everywhere
from tests.factories import client_for
from tests.jobs_support import dramatiq_worker, wait_for
from tests.urls import tenant_url

from .conftest import sa_json

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def everywhere(people, graph_server, google_server, slack_server, bamboohr_server, service_account):
    """All four destinations connected for Ada's organization."""
    org = people["employee"].organization
    connection_create(organization=org, kind="microsoft_graph", credentials=graph_server.credentials(),
                      base_url=graph_server.url, auth_url=graph_server.url)
    connection_create(organization=org, kind="google_directory",
                      credentials={"service_account": sa_json(service_account), "admin_email": "admin@example.com"},
                      base_url=google_server.url, auth_url=google_server.token_url)
    connection_create(organization=org, kind="bamboohr", credentials=bamboohr_server.credentials(),
                      base_url=bamboohr_server.url)
    SlackConnection.objects.create(organization=org, employee=people["employee"],
                                   access_token=slack_server.user_token("U0ADA"), team_id="T0ACME",
                                   slack_user_id="U0ADA")
    return {"graph": graph_server, "google": google_server, "slack": slack_server, "bamboohr": bamboohr_server}


def approve_via_api(people):
    org = people["employee"].organization
    response = client_for(people["admin"]).post(
        tenant_url("headshot-approve", org, people['headshot'].pk), {"approved": True}, format="json")
    assert response.status_code == 200, response.content


def settled(employee, count):
    rows = list(PhotoSync.objects.filter(employee=employee))
    return rows if len(rows) == count and all(r.status != "pending" for r in rows) else None


def test_approval_pushes_to_every_destination_through_redis_and_a_worker(people, everywhere, redis_broker):
    approve_via_api(people)
    assert redis_broker.client.llen(f"{redis_broker.namespace}:connectors") == 4  # queued on commit, none run yet
    with dramatiq_worker(threads=2):
        rows = wait_for(lambda: settled(people["employee"], 4), 60)
    assert {r.destination: (r.status, r.attempts) for r in rows} == {
        "microsoft_graph": ("synced", 1), "google_directory": ("synced", 1), "bamboohr": ("synced", 1),
        "slack": ("synced", 1)}
    assert set(everywhere["graph"].stored) == {"ada@acme.example"}
    assert set(everywhere["google"].stored) == {"ada@acme.example"}
    assert set(everywhere["bamboohr"].stored) == {"42"}
    assert set(everywhere["slack"].stored) == {"U0ADA"}
    listing = client_for(people["admin"]).get(tenant_url("photo-sync-list", people['employee'].organization),
                                              {"status": "synced"}).json()
    assert listing["count"] == 4 and all(r["synced_headshot"] == people["headshot"].pk for r in listing["results"])


def test_rate_limited_push_is_retried_after_the_servers_delay(people, graph_server, redis_broker):
    graph_server.throttle(1, retry_after=2)
    org = people["employee"].organization
    connection_create(organization=org, kind="microsoft_graph", credentials=graph_server.credentials(),
                      base_url=graph_server.url, auth_url=graph_server.url)
    approve_via_api(people)
    with dramatiq_worker():
        rows = wait_for(lambda: settled(people["employee"], 1), 60)
    assert (rows[0].status, rows[0].attempts) == ("synced", 2)
    first, second = graph_server.photo_calls()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 2.0  # Retry-After: 2 honoured, through Redis's delay queue


def test_deactivated_employee_is_skipped_and_admin_sees_errors_through_the_api(people, everywhere, redis_broker):
    from teams.employees import employee_update

    org = people["employee"].organization
    everywhere["bamboohr"].api_key = "rotated-by-hr"  # our stored key is now the old one
    approve_via_api(people)
    with dramatiq_worker():
        wait_for(lambda: settled(people["employee"], 4), 60)
    failed = client_for(people["admin"]).get(tenant_url("photo-sync-list", org), {"status": "failed"}).json()
    assert [(r["destination"], r["last_status_code"], r["last_error"]) for r in failed["results"]] == [
        ("bamboohr", 401, "credentials rejected by BambooHR: Invalid API key")]

    # Deactivated, then a new approval: nothing leaves the platform for them.
    employee_update(employee=people["employee"], active=False)
    for server in everywhere.values():
        server.calls.clear()
    people["headshot"].approved = False
    people["headshot"].save()
    approve_via_api(people)
    rows = PhotoSync.objects.filter(employee=people["employee"])
    assert {r.status for r in rows} == {"skipped"} and all("deactivated" in r.last_error for r in rows)
    assert redis_broker.client.llen(f"{redis_broker.namespace}:connectors") == 0
    assert not any(server.calls for server in everywhere.values())


def test_deleting_an_employee_removes_their_photo_where_the_destination_allows(people, everywhere, redis_broker):
    from teams.employees import employee_delete

    approve_via_api(people)
    with dramatiq_worker():
        wait_for(lambda: settled(people["employee"], 4), 60)
        employee_id = people["employee"].pk
        employee_delete(employee=people["employee"])
        rows = wait_for(lambda: (r := list(PhotoDeletion.objects.filter(employee_ref=employee_id))) and
                        len(r) == 4 and all(x.finished_at for x in r) and r, 60)
    assert {r.destination: r.status for r in rows} == {
        "microsoft_graph": DeletionStatus.DONE, "google_directory": DeletionStatus.DONE,
        "bamboohr": DeletionStatus.UNSUPPORTED, "slack": DeletionStatus.DONE}
    assert everywhere["graph"].deleted == ["ada@acme.example"] and not everywhere["graph"].stored
    assert everywhere["google"].deleted == ["ada@acme.example"] and not everywhere["google"].stored
    # Slack: with the person's own token, kept from their Slack link (deleted with them) until the photo was gone.
    assert everywhere["slack"].deleted == ["U0ADA"] and not everywhere["slack"].stored
    assert not SlackConnection.objects.filter(employee_id=employee_id).exists()
    done = [r for r in rows if r.status == DeletionStatus.DONE]
    assert all(r.remote_user == "" and r.credential == "" for r in done)  # no identifier or key of them is kept
    assert "remove it there by hand" in next(r for r in rows if r.destination == "bamboohr").last_error


def test_photo_delete_everywhere_records_failures_and_is_safe_to_run_again(people, graph_server, google_server,
                                                                           service_account):
    org = people["employee"].organization
    connection_create(organization=org, kind="microsoft_graph",
                      credentials={**graph_server.credentials(), "client_secret": "wrong"},
                      base_url=graph_server.url, auth_url=graph_server.url)
    connection_create(organization=org, kind="google_directory",
                      credentials={"service_account": sa_json(service_account), "admin_email": "admin@example.com"},
                      base_url=google_server.url, auth_url=google_server.token_url)
    snapshot = {"employee_id": 999, "email": "gone@acme.example", "external_id": "E-9",
                "external_ids": {"microsoft": "obj-9"}}
    rows = {r.destination: r for r in photo_delete_everywhere(org, snapshot)}
    assert rows["microsoft_graph"].status == "failed" and rows["microsoft_graph"].remote_user == "obj-9"
    assert rows["microsoft_graph"].last_error.startswith("credentials rejected by Microsoft 365")
    assert rows["google_directory"].status == "done" and google_server.deleted == ["gone@acme.example"]
    graph_connection = rows["microsoft_graph"].connection
    graph_connection.credentials = graph_server.credentials()
    graph_connection.save()
    again = {r.destination: r for r in photo_delete_everywhere(org, snapshot)}
    assert again["microsoft_graph"].status == "done" and graph_server.deleted == ["obj-9"]
    assert google_server.deleted == ["gone@acme.example"]  # done once, not repeated
    assert PhotoDeletion.objects.count() == 2


def test_a_slack_photo_removal_is_retried_after_a_rate_limit_and_given_up_on_a_dead_token(people, slack_server):
    org = people["employee"].organization
    snapshot = {"employee_id": 998, "email": "gone@acme.example", "external_id": "", "external_ids": {}}
    slack_server.stored["U0GONE"] = object()
    row = PhotoDeletion.objects.create(organization=org, employee_ref=998, destination="slack", remote_user="U0GONE",
                                       credential=slack_server.user_token("U0GONE"))
    slack_server.throttle(1, retry_after=3)

    (first,) = photo_delete_everywhere(org, snapshot)
    assert first.status == DeletionStatus.FAILED and first.last_status_code == 429
    assert first.credential == row.credential, "kept for the retry"
    (second,) = photo_delete_everywhere(org, snapshot)
    assert second.status == DeletionStatus.DONE and slack_server.deleted == ["U0GONE"]
    assert second.credential == "" and second.remote_user == ""

    revoked = PhotoDeletion.objects.create(organization=org, employee_ref=997, destination="slack",
                                           remote_user="U0OLD", credential="xoxp-revoked")
    (given_up,) = photo_delete_everywhere(org, {**snapshot, "employee_id": 997})
    assert given_up.pk == revoked.pk and given_up.status == DeletionStatus.UNSUPPORTED
    assert "invalid_auth" in given_up.last_error and "by hand" in given_up.last_error
    assert given_up.credential == "", "a token that no longer works is not kept"
