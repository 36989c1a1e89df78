"""Connector endpoints: admins manage directory connections and see/retry photo pushes; employees see and end their
Slack link. Credentials are write-only: no response ever contains them."""
from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.request_input import ascii_id
from teams.api import MyEndpoint
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .models import Connection, ConnectionKind, Destination, PhotoSync, SyncStatus
from .selectors import connection_list, photo_sync_list, slack_link_of
from .services import (
    connection_create,
    connection_delete,
    connection_update,
    photo_sync_retry,
    slack_configured,
    slack_disconnect,
)


class ConnectionOut(serializers.ModelSerializer):
    credentials_set = serializers.SerializerMethodField(help_text="names of the stored credentials (never values)")

    class Meta:
        model = Connection
        fields = ["id", "kind", "base_url", "auth_url", "enabled", "credentials_set", "created_at", "updated_at"]

    def get_credentials_set(self, connection: Connection) -> list[str]:
        return sorted(connection.credentials)


# The egress guard (config/egress.py) judges these; a refused URL is a 400 with code invalid_url.
URL_HELP = ("override of the vendor's URL (sovereign clouds): https to a public address; empty = the vendor's own")


class ConnectionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConnectionKind.choices)
    credentials = serializers.DictField(write_only=True, help_text=(
        "microsoft_graph: tenant_id, client_id, client_secret; google_directory: service_account (the JSON key), "
        "admin_email (the admin the service account acts as); bamboohr: company_domain, api_key"))
    base_url = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", help_text=URL_HELP)
    auth_url = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", help_text=URL_HELP)
    enabled = serializers.BooleanField(required=False, default=True)


class ConnectionPatchIn(serializers.Serializer):
    credentials = serializers.DictField(write_only=True, required=False,
                                        help_text="merged into the stored credentials (rotate one secret at a time)")
    base_url = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=URL_HELP)
    auth_url = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=URL_HELP)
    enabled = serializers.BooleanField(required=False)


class PhotoSyncOut(serializers.ModelSerializer):
    employee_name = serializers.CharField(source="employee.name")
    employee_email = serializers.CharField(source="employee.email")

    class Meta:
        model = PhotoSync
        fields = ["id", "employee", "employee_name", "employee_email", "destination", "status", "attempts",
                  "last_error", "last_status_code", "next_attempt_at", "headshot", "synced_headshot", "synced_at",
                  "remote_id", "remote_etag", "updated_at"]


class ConnectionListApi(OrganizationAdminEndpoint):
    tenant_model = Connection
    serializer_class = ConnectionOut
    pagination_class = None  # at most one per kind, as a plain list

    @extend_schema(responses=ConnectionOut(many=True))
    def get(self, request, org_slug: str):
        return Response(ConnectionOut(connection_list(organization=self.organization), many=True).data)

    @extend_schema(request=ConnectionIn, responses={201: ConnectionOut})
    def post(self, request, org_slug: str):
        data = ConnectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        connection = connection_create(organization=self.organization, **data.validated_data)
        return Response(ConnectionOut(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailApi(OrganizationAdminEndpoint):
    tenant_model = Connection
    serializer_class = ConnectionOut
    lookup_url_kwarg = "connection_id"

    @extend_schema(responses=ConnectionOut)
    def get(self, request, org_slug: str, connection_id: int):
        return Response(ConnectionOut(self.get_object()).data)

    @extend_schema(request=ConnectionPatchIn, responses=ConnectionOut)
    def patch(self, request, org_slug: str, connection_id: int):
        connection = self.get_object()
        data = ConnectionPatchIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        connection = connection_update(connection=connection, **data.validated_data)
        return Response(ConnectionOut(connection).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, connection_id: int):
        connection_delete(connection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhotoSyncListApi(OrganizationAdminEndpoint):
    """Where each employee's approved photo stands at each destination, with the destination's own error words."""

    tenant_model = PhotoSync
    serializer_class = PhotoSyncOut

    @extend_schema(responses=PhotoSyncOut(many=True), parameters=[
        OpenApiParameter("status", str, enum=SyncStatus.values),
        OpenApiParameter("destination", str, enum=Destination.values),
        OpenApiParameter("employee", int, description="one employee's rows")])
    def get(self, request, org_slug: str):
        filters = {}
        for name, allowed in {"status": SyncStatus.values, "destination": Destination.values}.items():
            value = request.query_params.get(name)
            if value:
                if value not in allowed:
                    raise DomainError(f"Unknown {name} {value!r}; choose one of {', '.join(allowed)}.",
                                      code=f"invalid_{name}")
                filters[name] = value
        employee = request.query_params.get("employee")
        if employee:
            if (employee_id := ascii_id(employee)) is None:  # not "²".isdigit(): int() of it was a 500
                raise DomainError("employee must be an employee id.", code="invalid_employee")
            filters["employee_id"] = employee_id
        return self.paginated_response(photo_sync_list(organization=self.organization, **filters))


class PhotoSyncRetryApi(OrganizationAdminEndpoint):
    tenant_model = PhotoSync
    serializer_class = PhotoSyncOut
    lookup_url_kwarg = "photo_sync_id"

    @extend_schema(request=None, responses={202: PhotoSyncOut})
    def post(self, request, org_slug: str, photo_sync_id: int):
        photo_sync = photo_sync_retry(photo_sync=self.get_object())
        return Response(PhotoSyncOut(photo_sync).data, status=status.HTTP_202_ACCEPTED)


class MySlackOut(serializers.Serializer):
    available = serializers.BooleanField(help_text="whether this platform has a Slack app set up")
    connected = serializers.BooleanField()
    connect_url = serializers.CharField(allow_null=True)
    team_id = serializers.CharField(allow_null=True)
    slack_user_id = serializers.CharField(allow_null=True)
    connected_at = serializers.DateTimeField(allow_null=True)
    photo_status = serializers.CharField(allow_null=True)
    photo_error = serializers.CharField(allow_null=True)


class MySlackConnectionApi(MyEndpoint):
    """The signed-in employee's own Slack link (the token itself is never shown)."""

    serializer_class = MySlackOut

    @extend_schema(responses=MySlackOut)
    def get(self, request, org_slug: str):
        employee = self.employee()
        link, sync = slack_link_of(organization=self.organization, employee=employee)
        available = slack_configured()
        return Response(MySlackOut({
            "available": available, "connected": link is not None,
            "connect_url": reverse("connectors:slack-start", args=[org_slug]) if available else None,
            "team_id": link.team_id if link else None, "slack_user_id": link.slack_user_id if link else None,
            "connected_at": link.created_at if link else None,
            "photo_status": sync.status if sync else None, "photo_error": (sync.last_error or None) if sync else None,
        }).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str):
        if not slack_disconnect(employee=self.employee()):
            raise Http404("You have not connected Slack.")
        return Response(status=status.HTTP_204_NO_CONTENT)
