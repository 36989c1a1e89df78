"""Each destination's real client against its contract server: success, bad credentials, too large, wrong format and
rate limiting (Retry-After honoured: the job is re-enqueued with that delay, then succeeds)."""
from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass

import dramatiq
import numpy as np
import pytest
import requests
from django.utils import timezone
from PIL import Image

from connectors.clients import bamboohr, google_directory, microsoft_graph, slack
from connectors.clients.base import PushError
from connectors.models import ConnectionKind, Destination, PhotoSync, SlackConnection, SyncStatus
from connectors.services import connection_create, photo_sync_run, photo_syncs_for_approval
from teams.labels import read_label

from .conftest import make_headshot, sa_json

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@dataclass
class Raw:
    """An image exactly as given, to send what the renderer never would (wrong format, oversize, not square)."""

    data: bytes
    content_type: str
    width: int
    height: int


def encoded(image: Image.Image, fmt: str, **params) -> Raw:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return Raw(buffer.getvalue(), Image.MIME[fmt], *image.size)


def noise(size, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def connect_graph(org, server, **credentials):
    return connection_create(organization=org, kind=ConnectionKind.MICROSOFT_GRAPH,
                             credentials={**server.credentials(), **credentials}, base_url=server.url,
                             auth_url=server.url)


def connect_google(org, server, service_account, admin_email="admin@example.com"):
    return connection_create(organization=org, kind=ConnectionKind.GOOGLE_DIRECTORY,
                             credentials={"service_account": sa_json(service_account), "admin_email": admin_email},
                             base_url=server.url, auth_url=server.token_url)


def connect_bamboohr(org, server, **credentials):
    return connection_create(organization=org, kind=ConnectionKind.BAMBOOHR,
                             credentials={**server.credentials(), **credentials}, base_url=server.url)


def connect_slack(employee, server, token=None):
    return SlackConnection.objects.create(organization=employee.organization, employee=employee,
                                          access_token=token or server.user_token("U0ADA"), team_id=server.team_id,
                                          slack_user_id="U0ADA")


def approve(headshot, capture) -> dict[str, PhotoSync]:
    """Approve and queue as the signal receiver does; the queued messages are captured, not sent."""
    headshot.approved, headshot.approved_at = True, timezone.now()
    headshot.save()
    with capture() as callbacks:
        rows = photo_syncs_for_approval(headshot=headshot)
    assert len(callbacks) == len([r for r in rows if r.status == SyncStatus.PENDING])
    return {row.destination: row for row in rows}


def run(row: PhotoSync) -> PhotoSync:
    """One attempt of the job, as the worker runs it."""
    photo_sync_run(row.pk, PhotoSync.objects.get(pk=row.pk).attempts)
    return PhotoSync.objects.get(pk=row.pk)


def delayed_messages(broker) -> list[dramatiq.Message]:
    raw = broker.client.hvals(f"{broker.namespace}:connectors.DQ.msgs")
    return [dramatiq.Message.decode(item) for item in raw]


def assert_labelled(stored, fmt="JPEG"):
    assert stored.format == fmt
    label = read_label(stored.data)
    assert label is not None and label.ai_generated, "every pushed photo carries the AI label (XMP)"


def assert_retried_after(row, broker, capture, seconds):
    """The row waits, and exactly one message for the next attempt sits in Redis's delay queue with that delay."""
    assert row.status == SyncStatus.PENDING and row.attempts == 1
    assert abs((row.next_attempt_at - timezone.now()).total_seconds() - seconds) < 3
    messages = delayed_messages(broker)
    assert len(messages) == 1
    message = messages[0]
    assert message.actor_name == "push_photo" and tuple(message.args) == (row.pk, 1)
    assert abs(message.options["eta"] - (time.time() * 1000 + seconds * 1000)) < 3000


# Microsoft Graph -----------------------------------------------------------------------------------------------


def test_graph_push_stores_a_labelled_jpeg_within_4_mb(people, graph_server, django_capture_on_commit_callbacks):
    connect_graph(people["employee"].organization, graph_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH])
    assert row.status == SyncStatus.SYNCED, row.last_error
    assert row.attempts == 1 and row.synced_headshot_id == people["headshot"].pk and row.remote_etag
    stored = graph_server.stored["ada@acme.example"]  # no external id for Microsoft: the UPN (email) is the key
    assert (stored.width, stored.height) == (648, 648) and len(stored.data) <= 4 * 1024 * 1024
    assert_labelled(stored)
    assert [c.method for c in graph_server.calls] == ["POST", "PUT"]


def test_graph_uses_the_mapped_microsoft_id_when_there_is_one(people, graph_server, django_capture_on_commit_callbacks):
    people["employee"].external_ids = {"microsoft": "5f0c-object-id"}
    people["employee"].save()
    connect_graph(people["employee"].organization, graph_server)
    assert run(approve(people["headshot"], django_capture_on_commit_callbacks)["microsoft_graph"]).status == "synced"
    assert set(graph_server.stored) == {"5f0c-object-id"}


def test_graph_token_is_reused_and_renewed_once_when_the_directory_revokes_it(graph_server):
    client = microsoft_graph.GraphClient(credentials=graph_server.credentials(), base=graph_server.url,
                                         auth=graph_server.url)
    photo = encoded(noise((300, 300)), "JPEG")
    client.put_photo("ada@acme.example", photo)
    client.put_photo("bob@acme.example", photo)
    assert [c.method for c in graph_server.calls] == ["POST", "PUT", "PUT"]  # one token for both photos
    graph_server.tokens.clear()  # revoked at the directory
    client.put_photo("cy@acme.example", photo)
    assert [(c.method, c.status) for c in graph_server.calls[3:]] == [("PUT", 401), ("POST", 200), ("PUT", 200)]


def test_graph_wrong_secret_fails_with_their_message_and_no_retry(people, graph_server,
                                                                  django_capture_on_commit_callbacks):
    connect_graph(people["employee"].organization, graph_server, client_secret="expired")
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH]
    with django_capture_on_commit_callbacks() as requeued:
        row = run(row)
    assert row.status == SyncStatus.FAILED and not requeued
    assert row.last_error == "credentials rejected by Microsoft 365: AADSTS7000215: Invalid client secret provided."
    assert row.last_status_code == 401 and not graph_server.stored


def test_graph_refuses_a_photo_over_its_limit(people, graph_server, django_capture_on_commit_callbacks):
    graph_server.max_bytes = 2_000  # smaller than the rendered photo, so the server's 413 is what the job sees
    connect_graph(people["employee"].organization, graph_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH])
    assert row.status == SyncStatus.FAILED and row.last_status_code == 413
    assert row.last_error.startswith("Microsoft 365 refused the photo as too large")


def test_graph_server_enforces_the_documented_4_mb_and_jpeg_only(graph_server, settings):
    client = microsoft_graph.GraphClient(credentials=graph_server.credentials(), base=graph_server.url,
                                         auth=graph_server.url)
    big = encoded(noise((2400, 2400)), "JPEG", quality=100)
    assert len(big.data) > 4 * 1024 * 1024
    with pytest.raises(PushError) as too_large:
        client.put_photo("ada@acme.example", big)
    assert too_large.value.reason == "too_large" and too_large.value.status_code == 413
    png = encoded(noise((300, 300)), "PNG")
    with pytest.raises(PushError) as wrong_type:
        client.put_photo("ada@acme.example", png)  # sent as image/png
    assert wrong_type.value.reason == "bad_image" and "image/jpeg" in wrong_type.value.message
    with pytest.raises(PushError) as disguised:
        client.put_photo("ada@acme.example", Raw(png.data, "image/jpeg", 300, 300))  # PNG bytes labelled JPEG
    assert disguised.value.status_code == 400 and not graph_server.stored


def test_graph_rate_limit_waits_retry_after_then_succeeds(people, graph_server, redis_broker,
                                                          django_capture_on_commit_callbacks):
    graph_server.throttle(1, retry_after=7)
    connect_graph(people["employee"].organization, graph_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH]
    with django_capture_on_commit_callbacks(execute=True):
        row = run(row)
    assert row.last_status_code == 429 and "retrying in 7 s" in row.last_error
    assert_retried_after(row, redis_broker, django_capture_on_commit_callbacks, 7)
    row = run(row)
    assert row.status == SyncStatus.SYNCED and row.attempts == 2
    assert [c.status for c in graph_server.photo_calls()] == [429, 200]


def test_retry_after_is_capped_and_attempts_are_bounded(people, graph_server, redis_broker, settings,
                                                        django_capture_on_commit_callbacks):
    settings.CONNECTOR_RETRY_AFTER_MAX_SECONDS = 30
    settings.CONNECTOR_MAX_ATTEMPTS = 2
    graph_server.throttle(5, retry_after=86_400)
    connect_graph(people["employee"].organization, graph_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH]
    with django_capture_on_commit_callbacks(execute=True):
        row = run(row)
    assert_retried_after(row, redis_broker, django_capture_on_commit_callbacks, 30)
    with django_capture_on_commit_callbacks() as requeued:
        row = run(row)
    assert row.status == SyncStatus.FAILED and not requeued
    assert "gave up after 2 attempts" in row.last_error


def test_a_stale_message_from_an_earlier_round_is_dropped(people, graph_server, django_capture_on_commit_callbacks):
    connect_graph(people["employee"].organization, graph_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH]
    assert photo_sync_run(row.pk, 5) is None  # not this round's attempt number: nothing is sent
    assert not graph_server.calls and PhotoSync.objects.get(pk=row.pk).attempts == 0


# Google Directory ----------------------------------------------------------------------------------------------


def test_google_push_sends_web_safe_base64_and_stores_a_labelled_photo(people, google_server, service_account,
                                                                      django_capture_on_commit_callbacks):
    connect_google(people["employee"].organization, google_server, service_account)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.GOOGLE_DIRECTORY])
    assert row.status == SyncStatus.SYNCED, row.last_error
    stored = google_server.stored["ada@acme.example"]
    assert (stored.width, stored.height) == (192, 192) and stored.content_type == "image/jpeg"
    assert_labelled(stored)
    assert row.remote_id and row.remote_etag


def test_google_refuses_a_jwt_signed_with_another_key(people, google_server, service_account,
                                                      django_capture_on_commit_callbacks):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {**service_account, "private_key": other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()}
    connect_google(people["employee"].organization, google_server, forged)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.GOOGLE_DIRECTORY])
    assert row.status == SyncStatus.FAILED and row.last_status_code == 400
    assert row.last_error == "credentials rejected by Google Workspace: Invalid JWT Signature."


def test_google_refuses_a_service_account_without_delegation_for_that_admin(people, google_server, service_account,
                                                                            django_capture_on_commit_callbacks):
    connect_google(people["employee"].organization, google_server, service_account, admin_email="intern@example.com")
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.GOOGLE_DIRECTORY])
    assert row.status == SyncStatus.FAILED and row.last_error.startswith(
        "credentials rejected by Google Workspace: Client is unauthorized")


def test_google_server_refuses_standard_base64_and_wrong_formats(google_server, service_account):
    client = google_directory.GoogleDirectoryClient(
        credentials={"service_account": service_account, "admin_email": "admin@example.com"},
        base=google_server.url, auth=google_server.token_url)
    photo = encoded(noise((96, 96), seed=3), "JPEG", quality=95)
    standard = base64.b64encode(photo.data).decode()
    assert "+" in standard or "/" in standard
    answer = requests.put(client._photo_url("ada@acme.example"), timeout=5,
                          headers={"Authorization": f"Bearer {client.token()}"},
                          json={"photoData": standard, "mimeType": "image/jpeg", "width": 96, "height": 96})
    assert answer.status_code == 400 and "web-safe" in answer.json()["error"]["message"]
    with pytest.raises(PushError) as disguised:
        client.put_photo("ada@acme.example", Raw(encoded(noise((96, 96)), "PNG").data, "image/jpeg", 96, 96))
    assert disguised.value.reason == "bad_image"
    with pytest.raises(PushError) as lying_size:
        client.put_photo("ada@acme.example", Raw(photo.data, "image/jpeg", 200, 200))
    assert lying_size.value.status_code == 400 and not google_server.stored
    assert client.put_photo("ada@acme.example", photo).etag


@pytest.mark.parametrize("status", [429, 403])
def test_google_quota_answers_wait_retry_after(status, people, google_server, service_account, redis_broker,
                                               django_capture_on_commit_callbacks):
    # Google reports quota as 429, and some per-user limits as 403 rateLimitExceeded: both mean "wait".
    google_server.throttle(1, retry_after=4, status=status)
    connect_google(people["employee"].organization, google_server, service_account)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.GOOGLE_DIRECTORY]
    with django_capture_on_commit_callbacks(execute=True):
        row = run(row)
    assert_retried_after(row, redis_broker, django_capture_on_commit_callbacks, 4)
    assert run(row).status == SyncStatus.SYNCED


# Slack ---------------------------------------------------------------------------------------------------------


def test_slack_push_sets_the_employees_own_photo(people, slack_server, django_capture_on_commit_callbacks):
    connect_slack(people["employee"], slack_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.SLACK])
    assert row.status == SyncStatus.SYNCED, row.last_error
    stored = slack_server.stored["U0ADA"]
    assert (stored.width, stored.height) == (1024, 1024) and stored.content_type == "image/jpeg"
    assert_labelled(stored)


@pytest.mark.parametrize("token,error", [("xoxp-revoked", "invalid_auth"),
                                         ("xoxb-bot-token", "not_allowed_token_type")])
def test_slack_refused_tokens_fail_without_retry(token, error, people, slack_server,
                                                 django_capture_on_commit_callbacks):
    connect_slack(people["employee"], slack_server, token=token)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.SLACK]
    with django_capture_on_commit_callbacks() as requeued:
        row = run(row)
    assert row.status == SyncStatus.FAILED and not requeued
    assert row.last_error.startswith("credentials rejected by Slack:") and row.last_error.endswith(f"({error})")


def test_slack_too_large_fails_with_a_clear_message(people, slack_server, django_capture_on_commit_callbacks):
    slack_server.max_side = 800  # below what we send, so Slack's own too_large answer is exercised
    connect_slack(people["employee"], slack_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.SLACK])
    assert row.status == SyncStatus.FAILED
    assert row.last_error == "Slack refused the photo as too large (at most 1024x1024 pixels)"


def test_slack_server_enforces_formats_and_dimensions(slack_server):
    client = slack.SlackClient(token=slack_server.user_token("U0BOB"), base=slack_server.url)
    for image, reason in ((encoded(noise((600, 600)), "WEBP"), "bad_image"),
                          (encoded(noise((1100, 1100)), "JPEG"), "too_large"),
                          (encoded(noise((300, 300)), "PNG"), "bad_image")):
        with pytest.raises(PushError) as refused:
            client.put_photo(image)
        assert refused.value.reason == reason
    client.put_photo(encoded(noise((600, 600)), "PNG"))
    assert slack_server.stored["U0BOB"].format == "PNG"
    answer = requests.post(f"{slack_server.url}/api/users.setPhoto", timeout=5,
                           files={"image": ("a.png", encoded(noise((600, 600)), "PNG").data, "image/png")})
    assert answer.status_code == 200 and answer.json() == {"ok": False, "error": "not_authed"}


def test_slack_ratelimited_waits_retry_after_then_succeeds(people, slack_server, redis_broker,
                                                           django_capture_on_commit_callbacks):
    slack_server.throttle(1, retry_after=5)
    connect_slack(people["employee"], slack_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.SLACK]
    with django_capture_on_commit_callbacks(execute=True):
        row = run(row)
    assert row.last_status_code == 429
    assert_retried_after(row, redis_broker, django_capture_on_commit_callbacks, 5)
    assert run(row).status == SyncStatus.SYNCED


# BambooHR ------------------------------------------------------------------------------------------------------


def test_bamboohr_push_stores_a_square_labelled_photo(people, bamboohr_server, django_capture_on_commit_callbacks):
    connect_bamboohr(people["employee"].organization, bamboohr_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.BAMBOOHR])
    assert row.status == SyncStatus.SYNCED, row.last_error
    stored = bamboohr_server.stored["42"]  # external_ids["bamboohr"]
    assert stored.width == stored.height == 680
    assert_labelled(stored)
    assert row.remote_id == "42"


def test_bamboohr_wrong_api_key_fails_with_their_message(people, bamboohr_server, django_capture_on_commit_callbacks):
    connect_bamboohr(people["employee"].organization, bamboohr_server, api_key="old-key")
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.BAMBOOHR])
    assert row.status == SyncStatus.FAILED and row.last_status_code == 401
    assert row.last_error == "credentials rejected by BambooHR: Invalid API key"


def test_bamboohr_too_large_fails(people, bamboohr_server, django_capture_on_commit_callbacks):
    bamboohr_server.max_bytes = 2_000
    connect_bamboohr(people["employee"].organization, bamboohr_server)
    row = run(approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.BAMBOOHR])
    assert row.status == SyncStatus.FAILED and row.last_status_code == 413
    assert "refused the photo as too large" in row.last_error and "20MB" not in row.last_error


def test_bamboohr_server_enforces_square_size_and_format(bamboohr_server):
    client = bamboohr.BambooHRClient(credentials=bamboohr_server.credentials(), base=bamboohr_server.url)
    for image, words in ((encoded(noise((600, 400)), "JPEG"), "must be the same"),
                         (encoded(noise((100, 100)), "JPEG"), "at least 150"),
                         (encoded(noise((300, 300)), "WEBP"), "jpg, gif, or png")):
        with pytest.raises(PushError) as refused:
            client.put_photo("42", image)
        assert refused.value.status_code == 400 and words in refused.value.message
    big = encoded(noise((2000, 2000)), "PNG")
    bamboohr_server.max_bytes = len(big.data) - 1
    with pytest.raises(PushError) as too_large:
        client.put_photo("42", big)
    assert too_large.value.reason == "too_large"
    assert not bamboohr_server.stored
    client.put_photo("42", encoded(noise((150, 150)), "PNG"))
    assert bamboohr_server.stored["42"].format == "PNG"


@pytest.mark.parametrize("status", [429, 503])
def test_bamboohr_throttling_waits_retry_after(status, people, bamboohr_server, redis_broker,
                                               django_capture_on_commit_callbacks):
    # 429 since September 2026; 503 before (and still on older gateways): both carry Retry-After.
    bamboohr_server.throttle(1, retry_after=6, status=status)
    connect_bamboohr(people["employee"].organization, bamboohr_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.BAMBOOHR]
    with django_capture_on_commit_callbacks(execute=True):
        row = run(row)
    assert row.last_status_code == status
    assert_retried_after(row, redis_broker, django_capture_on_commit_callbacks, 6)
    assert run(row).status == SyncStatus.SYNCED


# Who is pushed -------------------------------------------------------------------------------------------------


def test_deactivated_employee_is_never_pushed(people, graph_server, slack_server, django_capture_on_commit_callbacks):
    from teams.employees import employee_update

    connect_graph(people["employee"].organization, graph_server)
    connect_slack(people["employee"], slack_server)
    employee_update(employee=people["employee"], active=False)
    rows = approve(people["headshot"], django_capture_on_commit_callbacks)
    assert {d: r.status for d, r in rows.items()} == {"microsoft_graph": "skipped", "slack": "skipped"}
    assert all("deactivated" in r.last_error for r in rows.values())
    assert not graph_server.calls and not slack_server.calls


def test_deactivation_between_queueing_and_running_still_skips(people, graph_server,
                                                               django_capture_on_commit_callbacks):
    connect_graph(people["employee"].organization, graph_server)
    row = approve(people["headshot"], django_capture_on_commit_callbacks)[Destination.MICROSOFT_GRAPH]
    people["employee"].active = False
    people["employee"].save()
    assert run(row).status == SyncStatus.SKIPPED and not graph_server.calls


def test_bamboohr_needs_an_employee_id(org_a, bamboohr_server, django_capture_on_commit_callbacks):
    from tests.factories import make_employee

    employee = make_employee(org_a, external_id="")
    employee.external_id = ""
    employee.save()
    connect_bamboohr(org_a, bamboohr_server)
    row = approve(make_headshot(employee), django_capture_on_commit_callbacks)[Destination.BAMBOOHR]
    assert row.status == SyncStatus.SKIPPED and "external_ids.bamboohr" in row.last_error


def test_disabled_connections_get_no_rows(people, graph_server, django_capture_on_commit_callbacks):
    connection = connect_graph(people["employee"].organization, graph_server)
    connection.enabled = False
    connection.save()
    assert approve(people["headshot"], django_capture_on_commit_callbacks) == {}
