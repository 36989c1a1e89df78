"""Events reach a real HTTP receiver through Redis and a dramatiq worker, signed per Standard Webhooks, with retries."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from teams.employees import employee_create, employee_delete, employee_update
from teams.generation import generation_finished
from teams.models import GenerationRequest, RequestStatus
from tests.factories import client_for
from tests.jobs_support import dramatiq_worker, wait_for
from tests.urls import tenant_url
from tests.webhooks.factories import make_webhook_org
from webhooks.jobs import resend_due_webhook_deliveries
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.services import delivery_attempt, endpoint_create, endpoint_rotate_secret

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis,
              pytest.mark.usefixtures("local_receivers_allowed", "redis_broker")]


@pytest.fixture
def acme(db):
    return make_webhook_org("Acme")


def approve(tenant):
    response = client_for(tenant.admin).post(
        tenant_url("headshot-approve", tenant.org, tenant.headshot.pk), {}, format="json")
    assert response.status_code == 200, response.content


def settled(*statuses: str, count: int = 1):
    """Wait until `count` deliveries are in one of these states."""
    return wait_for(lambda: WebhookDelivery.objects.filter(status__in=statuses).count() >= count, timeout=30)


def test_approving_a_headshot_sends_a_signed_headshot_approved_event(acme, receiver):
    created = client_for(acme.admin).post(tenant_url("webhook-list", acme.org), {"url": receiver.url},
                                          format="json").json()
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    [got] = receiver.requests
    assert got.path == "/hooks" and got.headers["content-type"] == "application/json"
    event = Webhook(created["secret"]).verify(got.body, got.headers)
    assert event["type"] == "headshot.approved" and event["timestamp"].endswith("Z")
    assert got.headers["webhook-id"].startswith("msg_")
    acme.headshot.refresh_from_db()
    assert event["data"] == {
        "employee": {"id": acme.employee.pk, "external_id": acme.employee.external_id, "external_ids": {},
                     "email": acme.employee.email, "name": "Grace Hopper", "active": True,
                     "team": {"id": acme.employee.team_id, "name": "Research"}},
        "headshot": {"id": acme.headshot.pk, "approved_at": acme.headshot.approved_at.isoformat().replace(
            "+00:00", "Z"), "width": 64, "height": 80, "request_id": acme.request.pk,
            "url": f"http://localhost:8000/api/v1/directory/employees/{acme.employee.external_id}/headshot"},
    }
    assert b"identity_distance" not in got.body and b"qc" not in got.body  # never face measurements
    log = client_for(acme.admin).get(tenant_url("webhook-deliveries", acme.org, created['id'])).json()
    [entry] = log["results"]
    assert entry["event_type"] == "headshot.approved" and entry["status"] == "succeeded"
    assert entry["attempts"] == 1 and entry["last_status_code"] == 200 and '"received": true' in entry["last_response"]
    assert entry["message_id"] == got.headers["webhook-id"]


def test_a_failing_receiver_is_retried_with_backoff_until_it_succeeds(acme, receiver):
    endpoint = endpoint_create(organization=acme.org, url=receiver.url)
    receiver.answer(500, 502)
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    first, second, third = receiver.requests
    assert {r.headers["webhook-id"] for r in receiver.requests} == {first.headers["webhook-id"]}
    # The schedule in these tests is 0.3 s, then 0.6 s (production: 5 s, 30 s, 2 min, ...).
    assert second.at - first.at >= 0.3 and third.at - second.at >= 0.6
    for got in receiver.requests:
        Webhook(endpoint.secret).verify(got.body, got.headers)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 200, "")
    assert delivery.finished_at and delivery.next_attempt_at is None


def test_a_delivery_that_keeps_failing_stops_after_the_last_attempt(acme, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    endpoint_create(organization=acme.org, url=receiver.url)
    receiver.answer(500, 500, 500)
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.FAILED)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code) == (2, 500)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    assert len(receiver.requests) == 2


def test_410_gone_disables_the_endpoint_and_nothing_more_is_sent(acme, receiver):
    endpoint = endpoint_create(organization=acme.org, url=receiver.url)
    receiver.answer(410)
    approve(acme)
    employee_update(employee=acme.employee, name="Grace B. Hopper")
    with dramatiq_worker():
        settled(DeliveryStatus.ABANDONED, count=2)
    assert len(receiver.requests) == 1
    endpoint.refresh_from_db()
    assert endpoint.enabled is False and "410 Gone" in endpoint.disabled_reason and endpoint.disabled_at
    employee_update(employee=acme.employee, name="Grace Brewster Hopper")
    assert WebhookDelivery.objects.count() == 2  # a disabled endpoint gets no new deliveries
    assert len(receiver.requests) == 1


def test_429_with_retry_after_waits_as_long_as_the_receiver_asks(acme, receiver):
    endpoint_create(organization=acme.org, url=receiver.url)
    receiver.answer((429, {"Retry-After": "2"}))
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    first, second = receiver.requests
    # Without Retry-After the schedule would have retried after 0.3 s.
    assert second.at - first.at >= 2.0
    assert WebhookDelivery.objects.get().attempts == 2


def test_unsubscribed_events_are_not_sent(acme, receiver):
    secret = endpoint_create(organization=acme.org, url=receiver.url, events=["employee.deleted"]).secret
    approve(acme)
    employee_update(employee=acme.employee, name="Grace B. Hopper")
    employee_id = acme.employee.pk
    employee_delete(employee=acme.employee)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    [got] = receiver.requests
    event = Webhook(secret).verify(got.body, got.headers)
    assert event["type"] == "employee.deleted"
    assert event["data"] == {"employee": {"id": employee_id, "external_id": acme.employee.external_id,
                                          "external_ids": {}, "email": acme.employee.email}}
    assert list(WebhookMessage.objects.values_list("event_type", flat=True)) == ["employee.deleted"]


def test_another_organizations_events_never_reach_this_organizations_endpoint(acme, receiver):
    globex = make_webhook_org("Globex")
    endpoint_create(organization=acme.org, url=receiver.url)
    approve(globex)
    employee_update(employee=globex.employee, name="Someone Else")
    with dramatiq_worker():
        approve(acme)
        settled(DeliveryStatus.SUCCEEDED)
    [got] = receiver.requests
    assert json.loads(got.body)["data"]["employee"]["id"] == acme.employee.pk
    assert not WebhookMessage.objects.filter(organization=globex.org).exists()


def test_employee_created_and_changed_are_employee_updated_events(acme, receiver):
    endpoint_create(organization=acme.org, url=receiver.url)
    new = employee_create(organization=acme.org, name="Alan Turing", email="Alan@Example.com", external_id="HR-7")
    employee_update(employee=new, email="alan.turing@example.com", active=False)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED, count=2)
    events = sorted((json.loads(r.body) for r in receiver.requests), key=lambda e: e["data"]["created"], reverse=True)
    assert [e["type"] for e in events] == ["employee.updated", "employee.updated"]
    created, changed = (e["data"] for e in events)
    assert created["created"] is True and created["employee"]["email"] == "alan@example.com"
    assert changed["created"] is False and changed["changed_fields"] == ["email", "active"]
    assert changed["employee"]["active"] is False and changed["employee"]["external_id"] == "HR-7"


def test_a_completed_request_is_sent_once_and_a_failed_one_not_at_all(acme, receiver):
    endpoint_create(organization=acme.org, url=receiver.url)
    failed = GenerationRequest.objects.create(organization=acme.org, employee=acme.employee,
                                              brand_kit_version=acme.request.brand_kit_version,
                                              status=RequestStatus.FAILED)
    generation_finished.send(sender=GenerationRequest, request=failed)
    # The job may announce the same request twice (a rerun after a crash): one event.
    generation_finished.send(sender=GenerationRequest, request=acme.request)
    generation_finished.send(sender=GenerationRequest, request=acme.request)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    [got] = receiver.requests
    event = json.loads(got.body)
    assert event["type"] == "request.completed"
    assert event["data"]["request"] == {"id": acme.request.pk, "status": "done", "headshots": 1,
                                        "headshots_delivered": 1, "finished_at": None}
    assert event["data"]["employee"]["id"] == acme.employee.pk


def test_a_broken_webhook_receiver_never_breaks_the_generation_job(acme, receiver, monkeypatch, caplog):
    import webhooks.events
    from audit.models import AuditEvent

    endpoint_create(organization=acme.org, url=receiver.url)

    def explode(**kwargs):
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(webhooks.events, "event_emit", explode)
    # The job announces a finished request with send(), not send_robust(): an exception here would fail the job.
    answers = dict(generation_finished.send(sender=GenerationRequest, request=acme.request))
    assert answers[webhooks.events.on_generation_finished] is None  # it ran, and swallowed its failure
    assert "on_generation_finished failed" in caplog.text and "database is on fire" in caplog.text
    # The receivers connected after it still ran: the audit log recorded the finished request.
    assert AuditEvent.objects.filter(action="generation.done", object_type="generationrequest",
                                     object_id=str(acme.request.pk)).exists()
    assert not WebhookMessage.objects.exists() and not WebhookDelivery.objects.exists()


def test_after_rotation_both_secrets_sign_until_the_grace_period_ends(acme, receiver):
    endpoint = endpoint_create(organization=acme.org, url=receiver.url)
    old = endpoint.secret
    new = endpoint_rotate_secret(endpoint=endpoint).secret
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    [got] = receiver.requests
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    client_for(acme.admin).post(tenant_url("webhook-test", acme.org, endpoint.pk))
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED, count=2)
    ping = receiver.requests[1]
    assert json.loads(ping.body)["type"] == "webhook.ping"
    assert len(ping.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(ping.body, ping.headers)


def test_a_delivery_lost_with_its_queue_message_is_resent_by_the_recovery_job(acme, receiver, redis_broker):
    endpoint_create(organization=acme.org, url=receiver.url)
    approve(acme)
    redis_broker.flush_all()  # Redis lost the message; PostgreSQL still knows the delivery is due
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    with dramatiq_worker():
        resend_due_webhook_deliveries.send()
        settled(DeliveryStatus.SUCCEEDED)
    assert len(receiver.requests) == 1


def test_a_succeeded_delivery_is_never_sent_again(acme, receiver):
    endpoint_create(organization=acme.org, url=receiver.url)
    approve(acme)
    with dramatiq_worker():
        settled(DeliveryStatus.SUCCEEDED)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    delivery_attempt(delivery_id=delivery.pk)
    with dramatiq_worker():
        resend_due_webhook_deliveries.send()
        from webhooks.jobs import deliver_webhook

        deliver_webhook.send(delivery.pk)
        wait_for(lambda: redis_queue_empty(), timeout=10)
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def redis_queue_empty() -> bool:
    import dramatiq

    broker = dramatiq.get_broker()
    return broker.client.llen(f"{broker.namespace}:webhooks") == 0 and not broker.client.keys(
        f"{broker.namespace}:__acks__*webhooks*")


def test_the_resend_command_queues_overdue_deliveries_and_nothing_else(acme, receiver, redis_broker):
    import io

    from django.core.management import call_command

    endpoint_create(organization=acme.org, url=receiver.url)
    approve(acme)
    employee_update(employee=acme.employee, name="Grace B. Hopper")
    redis_broker.flush_all()
    overdue, later = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.filter(pk=overdue.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    out = io.StringIO()
    call_command("webhooks_resend_due", stdout=out)
    assert out.getvalue().strip() == "queued 1 overdue webhook deliveries"
    queued = redis_broker.client.lrange(f"{redis_broker.namespace}:webhooks", 0, -1)
    assert len(queued) == 1 and f"[{overdue.pk}]".encode() in redis_broker.client.hget(
        f"{redis_broker.namespace}:webhooks.msgs", queued[0])
