"""Admins read their organization's audit log: a filtered, paginated list and a streaming CSV of the same filter."""
from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from tenancy.api import OrganizationAdminEndpoint

from .models import ActorType, AuditEvent
from .selectors import CSV_COLUMNS, audit_csv_lines, audit_events


class AuditEventOut(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = CSV_COLUMNS


class AuditEventFilterIn(serializers.Serializer):
    action = serializers.CharField(required=False, max_length=64,
                                   help_text="An action or its prefix: 'employee.' matches employee.created/updated.")
    actor_type = serializers.ChoiceField(choices=ActorType.choices, required=False)
    actor_id = serializers.CharField(required=False, max_length=64)
    object_type = serializers.CharField(required=False, max_length=64)
    object_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False, help_text="Events at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Events before this time (ISO 8601).")

    def validate(self, data):
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise serializers.ValidationError({"until": "until must be later than since."})
        return data


class AuditEventEndpoint(OrganizationAdminEndpoint):
    tenant_model = AuditEvent

    def get_queryset(self):
        query = AuditEventFilterIn(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return audit_events(organization=self.organization, **query.validated_data)


class AuditEventListApi(AuditEventEndpoint):
    serializer_class = AuditEventOut

    @extend_schema(parameters=[AuditEventFilterIn], responses=AuditEventOut(many=True))
    def get(self, request, org_slug: str):
        """The organization's audit events, newest first (limit/offset pages)."""
        return self.paginated_response(self.get_queryset())


class _JsonErrorsOnly(DefaultContentNegotiation):
    # The CSV streams as it is; errors (401, 404, a bad filter) are JSON whatever the client's Accept says.
    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class AuditEventCsvApi(AuditEventEndpoint):
    content_negotiation_class = _JsonErrorsOnly
    pagination_class = None

    @extend_schema(parameters=[AuditEventFilterIn], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, org_slug: str):
        """Every event matching the filter, newest first, as CSV (streamed, so any size fits)."""
        response = StreamingHttpResponse(audit_csv_lines(self.get_queryset()), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response
