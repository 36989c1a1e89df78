"""The admin API for webhook endpoints: create (secret once), edit, rotate, reveal, delete, delivery log."""
from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from tests.factories import client_for
from tests.urls import tenant_url
from tests.webhooks.factories import make_webhook_org
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.signing import new_message_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return make_webhook_org("Acme")


def base(tenant) -> str:
    return tenant_url("webhook-list", tenant.org)


def create(tenant, **body):
    body.setdefault("url", "https://93.184.216.34/hooks")
    return client_for(tenant.admin).post(base(tenant), body, format="json")


def test_admin_creates_an_endpoint_and_sees_its_secret_only_on_create(acme):
    response = create(acme, description="HRIS sync", events=["headshot.approved", "employee.deleted"])
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a valid Standard Webhooks secret
    assert created["events"] == ["headshot.approved", "employee.deleted"]
    assert created["enabled"] is True
    api = client_for(acme.admin)
    listed = api.get(base(acme)).json()["results"]
    assert [e["id"] for e in listed] == [created["id"]]
    detail = tenant_url("webhook-detail", acme.org, created["id"])
    assert "secret" not in listed[0] and "secret" not in api.get(detail).json()
    assert created["secret"].encode() not in api.get(base(acme)).content
    assert api.get(tenant_url("webhook-secret", acme.org, created['id'])).json()["secret"] == created["secret"]


@pytest.mark.parametrize("body,code", [
    ({"url": "http://93.184.216.34/hooks"}, "invalid_url"),
    ({"url": "https://10.0.0.5/hooks"}, "invalid_url"),
    ({"url": "https://169.254.169.254/latest/meta-data"}, "invalid_url"),
    ({"url": "https://93.184.216.34/hooks", "events": ["headshot.deleted"]}, "invalid"),
    ({"description": "no url"}, "invalid"),
])
def test_bad_endpoints_are_refused_with_a_clear_400(acme, body, code):
    response = client_for(acme.admin).post(base(acme), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert not WebhookEndpoint.objects.exists()


def test_patch_changes_url_and_events_and_reenabling_clears_the_reason(acme):
    endpoint_id = create(acme).json()["id"]
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(enabled=False, disabled_reason="The receiver answered 410")
    api = client_for(acme.admin)
    url = tenant_url("webhook-detail", acme.org, endpoint_id)
    changed = api.patch(url, {"url": "https://93.184.216.35/new", "events": ["employee.updated"]}, format="json")
    assert changed.status_code == 200
    assert changed.json()["url"] == "https://93.184.216.35/new" and changed.json()["events"] == ["employee.updated"]
    assert changed.json()["enabled"] is False and changed.json()["disabled_reason"]
    enabled = api.patch(url, {"enabled": True}, format="json").json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] == "" and enabled["disabled_at"] is None
    assert api.patch(url, {"url": "https://127.0.0.1/x"}, format="json").status_code == 400
    assert WebhookEndpoint.objects.get(pk=endpoint_id).url == "https://93.184.216.35/new"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_rotating_the_secret_keeps_the_old_one_signing_for_the_grace_period(acme, settings):
    settings.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS = 3600
    created = create(acme).json()
    rotated = client_for(acme.admin).post(tenant_url("webhook-rotate-secret", acme.org, created['id']))
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.previous_secret == created["secret"]


def test_delivery_log_lists_attempts_newest_first_and_filters_by_status(acme):
    endpoint = WebhookEndpoint.objects.get(pk=create(acme).json()["id"])
    for event_type, status in (("employee.updated", DeliveryStatus.SUCCEEDED), ("headshot.approved",
                                                                                 DeliveryStatus.FAILED)):
        message = WebhookMessage.objects.create(organization=acme.org, message_id=new_message_id(),
                                                event_type=event_type, payload={}, timestamp="2026-01-01T00:00Z")
        WebhookDelivery.objects.create(organization=acme.org, endpoint=endpoint, message=message, status=status,
                                       attempts=3, last_status_code=500, last_error="HTTP 500")
    api = client_for(acme.admin)
    log = api.get(tenant_url("webhook-deliveries", acme.org, endpoint.pk)).json()["results"]
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log] == [
        ("headshot.approved", "failed", 3), ("employee.updated", "succeeded", 3)]
    assert log[0]["message_id"].startswith("msg_") and log[0]["last_status_code"] == 500
    failed = api.get(tenant_url("webhook-deliveries", acme.org, endpoint.pk), {"status": "failed"}).json()["results"]
    assert [d["event_type"] for d in failed] == ["headshot.approved"]
    bad = api.get(tenant_url("webhook-deliveries", acme.org, endpoint.pk), {"status": "lost"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_status"


def test_testing_a_disabled_endpoint_is_refused(acme):
    endpoint_id = create(acme).json()["id"]
    api = client_for(acme.admin)
    api.patch(tenant_url("webhook-detail", acme.org, endpoint_id), {"enabled": False}, format="json")
    response = api.post(tenant_url("webhook-test", acme.org, endpoint_id))
    assert response.status_code == 409 and response.json()["code"] == "endpoint_disabled"


def test_employees_and_other_organizations_cannot_manage_webhooks(acme):
    globex = make_webhook_org("Globex")
    endpoint_id = create(acme).json()["id"]
    assert client_for(acme.employee_user).get(base(acme)).status_code == 403
    assert client_for(acme.employee_user).post(base(acme), {"url": "https://93.184.216.34/x"},
                                               format="json").status_code == 403
    assert client_for(globex.admin).get(tenant_url("webhook-detail", acme.org, endpoint_id)).status_code == 404
    assert client_for(globex.admin).get(tenant_url("webhook-secret", globex.org, endpoint_id)).status_code == 404
    assert client_for(globex.admin).get(base(globex)).json()["results"] == []
