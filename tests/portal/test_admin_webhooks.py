"""The admin portal's Webhooks pages: endpoints with their events, the secret shown once and rotatable, a test
event, the delivery log with a manual retry; admins only, and every id is scoped to the organization."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from tenancy.models import Role
from tests.factories import make_user
from tests.urls import url_of
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
RECEIVER = "http://127.0.0.1:9/hooks"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hooks(org) -> str:
    return url_of("portal:admin-webhooks", org)


def shown_secret(response) -> str:
    match = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', response.content.decode())
    assert match, "the secret is shown"
    return match.group(1)


@pytest.fixture
def receiver_allowed(allow_test_origin):
    return allow_test_origin(RECEIVER)


def failed_delivery(endpoint) -> WebhookDelivery:
    message = WebhookMessage.objects.create(organization=endpoint.organization, message_id=f"msg_{endpoint.pk}",
                                            event_type="webhook.ping", payload={}, timestamp=timezone.now())
    return WebhookDelivery.objects.create(organization=endpoint.organization, endpoint=endpoint, message=message,
                                          status=DeliveryStatus.FAILED, attempts=8, last_status_code=500,
                                          last_error="HTTP 500", finished_at=timezone.now())


def test_adding_an_endpoint_shows_its_secret_once(org_a, receiver_allowed):
    client = signed_in(make_user(org_a, Role.ADMIN))
    created = client.post(hooks(org_a), {"url": RECEIVER, "events": ["headshot.approved"]})
    assert created.status_code == 201
    endpoint = WebhookEndpoint.objects.get(organization=org_a)
    assert shown_secret(created) == endpoint.secret and endpoint.events == ["headshot.approved"]
    assert endpoint.secret not in client.get(hooks(org_a)).content.decode()
    assert endpoint.secret not in client.get(f"{hooks(org_a)}{endpoint.pk}/").content.decode()
    rotated = client.post(f"{hooks(org_a)}{endpoint.pk}/", {"action": "rotate"})
    endpoint.refresh_from_db()
    assert shown_secret(rotated) == endpoint.secret and endpoint.previous_secret


def test_a_private_address_or_an_unknown_event_is_refused_with_its_reason(org_a):
    client = signed_in(make_user(org_a, Role.ADMIN))
    refused = client.post(hooks(org_a), {"url": "http://10.0.0.5/hooks"})
    assert refused.status_code == 400 and "https" in refused.content.decode()
    assert client.post(hooks(org_a), {"url": "https://example.com/h", "events": ["everything"]}).status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_a_failed_delivery_is_retried_from_the_log(org_a, receiver_allowed):
    endpoint = endpoint_create(organization=org_a, url=RECEIVER)
    delivery = failed_delivery(endpoint)
    client = signed_in(make_user(org_a, Role.ADMIN))
    log = client.get(f"{hooks(org_a)}{endpoint.pk}/").content.decode()
    assert "Failed" in log and "8 / 8" in log and "HTTP 500" in log
    client.post(f"{hooks(org_a)}{endpoint.pk}/deliveries/{delivery.pk}/retry")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.finished_at is None
    again = client.post(f"{hooks(org_a)}{endpoint.pk}/deliveries/{delivery.pk}/retry", follow=True)
    assert "Only a failed or abandoned delivery can be retried" in again.content.decode()


def test_another_organizations_endpoint_and_delivery_are_404(org_a, org_b, receiver_allowed):
    theirs = endpoint_create(organization=org_b, url=RECEIVER)
    their_delivery = failed_delivery(theirs)
    mine = endpoint_create(organization=org_a, url=RECEIVER)
    client = signed_in(make_user(org_a, Role.OWNER))
    assert client.get(f"{hooks(org_a)}{theirs.pk}/").status_code == 404
    for action in ("test", "rotate", "disable", "delete"):
        assert client.post(f"{hooks(org_a)}{theirs.pk}/", {"action": action}).status_code == 404
    assert client.post(f"{hooks(org_a)}{theirs.pk}/deliveries/{their_delivery.pk}/retry").status_code == 404
    # Their delivery under my endpoint's URL: still not mine.
    assert client.post(f"{hooks(org_a)}{mine.pk}/deliveries/{their_delivery.pk}/retry").status_code == 404
    theirs.refresh_from_db()
    their_delivery.refresh_from_db()
    assert theirs.enabled and their_delivery.status == DeliveryStatus.FAILED
    assert not WebhookMessage.objects.filter(organization=org_b, event_type="webhook.ping").exclude(
        pk=their_delivery.message_id).exists()


def test_only_the_organizations_admins_manage_webhooks(org_a, org_b, receiver_allowed):
    assert Client().get(hooks(org_a)).status_code == 302
    assert signed_in(make_user(org_a, Role.EMPLOYEE)).post(hooks(org_a), {"url": RECEIVER}).status_code == 403
    assert signed_in(make_user(org_b, Role.OWNER)).post(hooks(org_a), {"url": RECEIVER}).status_code == 404
    assert not WebhookEndpoint.objects.exists()
