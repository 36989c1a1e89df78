"""Members and roles (admins): list who belongs to the organization, grant and revoke admin, transfer ownership,
remove a member. The rules live in tenancy.services (last owner, nobody above their own role)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from .api import OrganizationAdminEndpoint
from .models import Membership, Role
from .services import membership_remove, membership_set_role, ownership_transfer


class MemberOut(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]


class MemberRoleIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MemberEndpoint(OrganizationAdminEndpoint):
    tenant_model = Membership
    lookup_url_kwarg = "member_id"
    serializer_class = MemberOut

    def get_queryset(self):
        return Membership.objects.filter(organization=self.organization).select_related("user")


class MemberListApi(MemberEndpoint):
    @extend_schema(responses=MemberOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.get_queryset().order_by("id"), MemberOut)


class MemberDetailApi(MemberEndpoint):
    @extend_schema(responses=MemberOut)
    def get(self, request, org_slug: str, member_id: int):
        return Response(MemberOut(self.get_object()).data)

    @extend_schema(request=MemberRoleIn, responses=MemberOut)
    def patch(self, request, org_slug: str, member_id: int):
        """Change a member's role. Owners grant any role; admins grant up to admin; the last owner stays owner."""
        membership = self.get_object()  # another organization's member is a 404 before the body is read
        data = MemberRoleIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set_role(membership=membership, role=data.validated_data["role"],
                                         actor=request.membership)
        return Response(MemberOut(membership).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, org_slug: str, member_id: int):
        """End a member's access to this organization (their account and other organizations stay)."""
        membership_remove(membership=self.get_object(), actor=request.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OwnershipTransferApi(MemberEndpoint):
    @extend_schema(request=None, responses=MemberOut)
    def post(self, request, org_slug: str, member_id: int):
        """The calling owner makes this member an owner and becomes an admin."""
        membership = ownership_transfer(to=self.get_object(), actor=request.membership)
        return Response(MemberOut(membership).data)
