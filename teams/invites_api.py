"""Invite endpoints (admins): invite an employee, list the organization's invites, revoke one."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import Invite
from tenancy.api import OrganizationAdminEndpoint

from .invites import employee_invite_send, invite_revoke
from .models import Employee


class InviteOut(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invite
        fields = ["id", "email", "role", "employee", "status", "created_at", "expires_at", "accepted_at"]


class EmployeeInviteApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    lookup_url_kwarg = "employee_id"
    serializer_class = InviteOut

    @extend_schema(request=None, responses={201: InviteOut})
    def post(self, request, org_slug: str, employee_id: int):
        """Invite the employee: an expiring, single-use link emailed to the employee's address only (never
        returned here: whoever holds it could accept in their name)."""
        employee = self.get_object()
        issued = employee_invite_send(employee=employee, invited_by=request.user)
        return Response(InviteOut(issued.invite).data, status=status.HTTP_201_CREATED)


class InviteListApi(OrganizationAdminEndpoint):
    tenant_model = Invite
    serializer_class = InviteOut

    @extend_schema(responses=InviteOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.get_queryset().order_by("-id"))


class InviteDetailApi(OrganizationAdminEndpoint):
    tenant_model = Invite
    serializer_class = InviteOut
    lookup_url_kwarg = "invite_id"

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, invite_id: int):
        """Revoke an invite that hasn't been used yet."""
        invite_revoke(invite=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
