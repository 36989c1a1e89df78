"""Tenant API for admins: SCIM tokens (list, create with the secret shown once, revoke)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenancy.api import OrganizationAdminEndpoint

from .models import ScimToken
from .services import scim_token_create, scim_token_revoke


class ScimTokenOut(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ScimToken
        fields = ["id", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]


class IssuedScimTokenOut(ScimTokenOut):
    token = serializers.CharField(read_only=True)
    scim_base_url = serializers.CharField(read_only=True)

    class Meta(ScimTokenOut.Meta):
        fields = [*ScimTokenOut.Meta.fields, "token", "scim_base_url"]


class ScimTokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ScimTokenListApi(OrganizationAdminEndpoint):
    tenant_model = ScimToken
    serializer_class = ScimTokenOut

    @extend_schema(responses=ScimTokenOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.tenant_queryset().select_related("created_by"))

    @extend_schema(request=ScimTokenIn, responses={201: IssuedScimTokenOut})
    def post(self, request, org_slug: str):
        """Create a token for the company's directory; the secret is in this response only, never again."""
        data = ScimTokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = scim_token_create(organization=self.organization, created_by=request.user,
                                          name=data.validated_data["name"])
        body = {**ScimTokenOut(token).data, "token": secret,
                "scim_base_url": request.build_absolute_uri("/scim/v2")}
        return Response(body, status=status.HTTP_201_CREATED)


class ScimTokenDetailApi(OrganizationAdminEndpoint):
    tenant_model = ScimToken
    serializer_class = ScimTokenOut
    lookup_url_kwarg = "scim_token_id"

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, scim_token_id: int):
        """Revoke the token: the directory's next request with it gets 401."""
        scim_token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
