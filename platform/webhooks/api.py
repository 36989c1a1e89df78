"""Admin endpoints for webhooks: register endpoints, rotate or reveal their secret, read the delivery log, test."""
from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenancy.api import DomainError, OrganizationAdminEndpoint

from .models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from .selectors import delivery_list
from .services import endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_send_test, endpoint_update


class WebhookEndpointOut(serializers.ModelSerializer):
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="until then the previous secret also signs (a second signature), after a rotation")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "disabled_reason", "disabled_at",
                  "previous_secret_expires_at", "created_at", "updated_at"]


class WebhookEndpointSecretOut(WebhookEndpointOut):
    secret = serializers.CharField(help_text="whsec_ + base64 key for Standard Webhooks signature verification")

    class Meta(WebhookEndpointOut.Meta):
        fields = WebhookEndpointOut.Meta.fields + ["secret"]


class WebhookEndpointIn(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="https URL of the receiver (public addresses only)")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False,
                                   default=list, help_text="event types to receive; empty means all")


class WebhookEndpointPatchIn(WebhookEndpointIn):
    url = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False)
    enabled = serializers.BooleanField(required=False, help_text="true again clears disabled_reason")


class WebhookDeliveryOut(serializers.ModelSerializer):
    message_id = serializers.CharField(source="message.message_id", help_text="the webhook-id header")
    event_type = serializers.CharField(source="message.event_type")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "message_id", "event_type", "status", "attempts", "last_status_code", "last_response",
                  "last_error", "created_at", "last_attempt_at", "next_attempt_at", "finished_at"]


class WebhookListApi(OrganizationAdminEndpoint):
    tenant_model = WebhookEndpoint
    serializer_class = WebhookEndpointOut

    @extend_schema(responses=WebhookEndpointOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.get_queryset().order_by("id"))

    @extend_schema(request=WebhookEndpointIn, responses={201: WebhookEndpointSecretOut})
    def post(self, request, org_slug: str):
        """Register an endpoint. The answer holds its signing secret; store it, it is not listed again."""
        data = WebhookEndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_create(organization=self.organization, **data.validated_data)
        return Response(WebhookEndpointSecretOut(endpoint).data, status=status.HTTP_201_CREATED)


class _WebhookObjectApi(OrganizationAdminEndpoint):
    tenant_model = WebhookEndpoint
    serializer_class = WebhookEndpointOut
    lookup_url_kwarg = "webhook_id"


class WebhookDetailApi(_WebhookObjectApi):
    @extend_schema(responses=WebhookEndpointOut)
    def get(self, request, org_slug: str, webhook_id: int):
        return Response(WebhookEndpointOut(self.get_object()).data)

    @extend_schema(request=WebhookEndpointPatchIn, responses=WebhookEndpointOut)
    def patch(self, request, org_slug: str, webhook_id: int):
        endpoint = self.get_object()
        data = WebhookEndpointPatchIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookEndpointOut(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, webhook_id: int):
        endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretApi(_WebhookObjectApi):
    @extend_schema(responses=WebhookEndpointSecretOut)
    def get(self, request, org_slug: str, webhook_id: int):
        """Reveal the current signing secret."""
        return Response(WebhookEndpointSecretOut(self.get_object()).data)


class WebhookRotateSecretApi(_WebhookObjectApi):
    @extend_schema(request=None, responses=WebhookEndpointSecretOut)
    def post(self, request, org_slug: str, webhook_id: int):
        """A new secret signs from now on; the old one also signs until previous_secret_expires_at."""
        return Response(WebhookEndpointSecretOut(endpoint_rotate_secret(endpoint=self.get_object())).data)


class WebhookDeliveryListApi(_WebhookObjectApi):
    serializer_class = WebhookDeliveryOut

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values,
                                                description="only deliveries in this state")],
                   responses=WebhookDeliveryOut(many=True))
    def get(self, request, org_slug: str, webhook_id: int):
        """The delivery log, newest first."""
        endpoint = self.get_object()
        wanted = request.query_params.get("status")
        if wanted and wanted not in DeliveryStatus.values:
            raise DomainError(_("status must be one of: %(names)s.") % {"names": ", ".join(DeliveryStatus.values)},
                              code="invalid_status")
        deliveries = delivery_list(organization=self.organization, endpoint=endpoint, status=wanted)
        return self.paginated_response(deliveries)


class WebhookTestApi(_WebhookObjectApi):
    serializer_class = WebhookDeliveryOut

    @extend_schema(request=None, responses={202: WebhookDeliveryOut})
    def post(self, request, org_slug: str, webhook_id: int):
        """Queue a signed `webhook.ping` event to this endpoint; its outcome shows in the delivery log."""
        delivery = endpoint_send_test(endpoint=self.get_object())
        return Response(WebhookDeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)
