"""Admins read their organization's audit log: a filtered, paginated list and a streaming CSV of the same filter."""
from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from config.csv_cells import csv_cell
from tenancy.api import OrganizationAdminEndpoint

from .models import ActorType, AuditEvent

CSV_COLUMNS = ("id", "at", "actor_type", "actor_id", "action", "object_type", "object_id", "ip", "request_id",
               "status_code", "detail")


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
        events = self.tenant_queryset()
        filters = query.validated_data
        if "action" in filters:
            events = events.filter(action__startswith=filters["action"])
        for name in ("actor_type", "actor_id", "object_type", "object_id"):
            if name in filters:
                events = events.filter(**{name: filters[name]})
        if "since" in filters:
            events = events.filter(at__gte=filters["since"])
        if "until" in filters:
            events = events.filter(at__lt=filters["until"])
        return events.order_by("-at", "-id")


class AuditEventListApi(AuditEventEndpoint):
    serializer_class = AuditEventOut

    @extend_schema(parameters=[AuditEventFilterIn], responses=AuditEventOut(many=True))
    def get(self, request, org_slug: str):
        """The organization's audit events, newest first (limit/offset pages)."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AuditEventOut(page, many=True).data)


class _JsonErrorsOnly(DefaultContentNegotiation):
    # The CSV streams as it is; errors (401, 404, a bad filter) are JSON whatever the client's Accept says.
    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class _Echo:
    def write(self, value: str) -> str:
        return value


class AuditEventCsvApi(AuditEventEndpoint):
    content_negotiation_class = _JsonErrorsOnly
    pagination_class = None

    @extend_schema(parameters=[AuditEventFilterIn], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, org_slug: str):
        """Every event matching the filter, newest first, as CSV (streamed, so any size fits)."""
        events = self.get_queryset()
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(CSV_COLUMNS)
            for event in events.values_list(*CSV_COLUMNS).iterator(chunk_size=1000):
                yield writer.writerow([csv_cell(v.isoformat() if hasattr(v, "isoformat") else v) for v in event])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response
