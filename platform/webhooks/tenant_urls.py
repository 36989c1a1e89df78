"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("webhooks", api.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>", api.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/secret", api.WebhookSecretApi.as_view(), name="webhook-secret"),
    path("webhooks/<int:webhook_id>/rotate-secret", api.WebhookRotateSecretApi.as_view(), name="webhook-rotate-secret"),
    path("webhooks/<int:webhook_id>/deliveries", api.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path("webhooks/<int:webhook_id>/test", api.WebhookTestApi.as_view(), name="webhook-test"),
]
