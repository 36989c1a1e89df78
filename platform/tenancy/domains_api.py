"""Verified domains (admins): claim a domain, see the DNS TXT record or mailbox that proves it, verify, remove."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from .api import OrganizationAdminEndpoint
from .domains import (
    ADMIN_MAILBOXES,
    domain_claim,
    domain_code_resend,
    domain_delete,
    domain_verify,
    txt_record_name,
    txt_record_value,
)
from .models import OrganizationDomain


class DomainOut(serializers.ModelSerializer):
    status = serializers.CharField(help_text="pending or verified")
    txt_record_name = serializers.SerializerMethodField()
    txt_record_value = serializers.SerializerMethodField()

    class Meta:
        model = OrganizationDomain
        fields = ["id", "domain", "method", "status", "verification_email", "txt_record_name", "txt_record_value",
                  "verified_at", "last_checked_at", "created_at"]

    def get_txt_record_name(self, claim: OrganizationDomain) -> str:
        return txt_record_name(claim)

    def get_txt_record_value(self, claim: OrganizationDomain) -> str:
        return txt_record_value(claim)


class DomainIn(serializers.Serializer):
    domain = serializers.CharField(max_length=253)
    method = serializers.ChoiceField(choices=OrganizationDomain.Method.values, default=OrganizationDomain.Method.DNS)
    mailbox = serializers.ChoiceField(choices=ADMIN_MAILBOXES, required=False, default="",
                                      help_text="method email: the code goes to <mailbox>@<domain>")


class DomainVerifyIn(serializers.Serializer):
    code = serializers.CharField(max_length=20, required=False, default="",
                                 help_text="method email: the code from the email; dns: leave out")


class DomainEndpoint(OrganizationAdminEndpoint):
    tenant_model = OrganizationDomain
    lookup_url_kwarg = "domain_id"
    serializer_class = DomainOut


class DomainListApi(DomainEndpoint):
    @extend_schema(responses=DomainOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(self.get_queryset().order_by("domain"), DomainOut)

    @extend_schema(request=DomainIn, responses={201: DomainOut})
    def post(self, request, org_slug: str):
        """Claim a domain: publish the TXT record shown (method dns), or get a code at an admin mailbox (email)."""
        data = DomainIn(data=request.data)
        data.is_valid(raise_exception=True)
        claim = domain_claim(organization=self.organization, actor=request.user, **data.validated_data)
        return Response(DomainOut(claim).data, status=status.HTTP_201_CREATED)


class DomainDetailApi(DomainEndpoint):
    @extend_schema(responses=DomainOut)
    def get(self, request, org_slug: str, domain_id: int):
        return Response(DomainOut(self.get_object()).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, org_slug: str, domain_id: int):
        domain_delete(claim=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerifyApi(DomainEndpoint):
    @extend_schema(request=DomainVerifyIn, responses=DomainOut)
    def post(self, request, org_slug: str, domain_id: int):
        """Check the proof now: the TXT record in DNS, or the emailed code."""
        data = DomainVerifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        claim = domain_verify(claim=self.get_object(), code=data.validated_data["code"], actor=request.user)
        return Response(DomainOut(claim).data)


class DomainCodeApi(DomainEndpoint):
    @extend_schema(request=None, responses=DomainOut)
    def post(self, request, org_slug: str, domain_id: int):
        """Send a new code to the domain's admin mailbox (method email)."""
        claim = domain_code_resend(claim=self.get_object())
        return Response(DomainOut(claim).data)
