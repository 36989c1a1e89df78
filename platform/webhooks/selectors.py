"""Reads of the webhooks app: an endpoint's delivery log."""
from __future__ import annotations

from django.db.models import QuerySet

from tenancy.models import Organization

from .models import WebhookDelivery, WebhookEndpoint


def delivery_list(*, organization: Organization, endpoint: WebhookEndpoint,
                  status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, optionally only those in one state."""
    deliveries = (WebhookDelivery.objects.for_organization(organization).filter(endpoint=endpoint)
                  .select_related("message").order_by("-id"))
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries
