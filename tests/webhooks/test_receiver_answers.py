"""What a receiver answers can't hurt the worker: big or trickled bodies are cut, redirects are not followed."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config.egress import UNREACHABLE_MESSAGE
from tests.webhooks.factories import make_webhook_org
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import delivery_attempt, endpoint_create, event_emit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_receivers_allowed")]


def serve(answer):
    """A receiver whose do_POST is `answer(handler)`; returns (url, hits, server). The guard refuses it until a test
    allows its origin."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            hits.append(self.path)
            answer(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", hits, server


def attempt(url: str) -> WebhookDelivery:
    acme = make_webhook_org("Acme")
    endpoint_create(organization=acme.org, url=url)
    event_emit(organization_id=acme.org.pk, event_type="employee.updated", data={"employee": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_only_the_first_kilobyte_of_a_large_answer_is_kept(local_receivers_allowed):
    def big(handler):
        handler.send_response(200)
        handler.send_header("content-length", str(5_000_000))
        handler.end_headers()
        handler.wfile.write(b"x" * 5_000_000)

    base, hits, server = serve(big)
    local_receivers_allowed(base)
    try:
        delivery = attempt(f"{base}/big")
    finally:
        server.shutdown()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.last_response == "x" * 1024


def test_a_receiver_trickling_its_answer_cannot_hold_the_worker(settings, local_receivers_allowed):
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 1.0

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("content-length", "1024")
        handler.end_headers()
        for _ in range(1024):
            handler.wfile.write(b"y")
            handler.wfile.flush()
            time.sleep(0.1)

    base, hits, server = serve(trickle)
    local_receivers_allowed(base)
    started = time.monotonic()
    try:
        delivery = attempt(f"{base}/slow")
    finally:
        server.shutdown()
    assert time.monotonic() - started < 5  # the whole answer would take 100 s
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert 0 < len(delivery.last_response) < 1024


def test_redirects_are_not_followed_and_count_as_failures(local_receivers_allowed):
    target_base, target_hits, target = serve(lambda h: (h.send_response(200), h.end_headers()))

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("location", f"{target_base}/elsewhere")
        handler.send_header("content-length", "0")
        handler.end_headers()

    base, hits, server = serve(redirect)
    local_receivers_allowed(base)  # only the first hop: the target on 127.0.0.1 stays refused
    try:
        delivery = attempt(f"{base}/moved")
    finally:
        server.shutdown()
        target.shutdown()
    assert hits == ["/moved"] and target_hits == []
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 307
    assert delivery.last_error.startswith("HTTP 307")


def test_an_attempt_that_crashes_unexpectedly_still_counts_and_is_retried(monkeypatch, local_receivers_allowed, caplog):
    import webhooks.services

    def crash(endpoint, message):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(webhooks.services, "_post", crash)
    delivery = attempt(local_receivers_allowed("http://127.0.0.1:9/never"))
    # The admin reads the one generic sentence; what broke (it might name our network) is in the server log only.
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.PENDING, 1, UNREACHABLE_MESSAGE)
    assert "RuntimeError: unforeseen" in caplog.text
    assert delivery.next_attempt_at and delivery.last_status_code is None
