"""Generation requests: admins list and read the organization's and retry a failed one; an employee starts and
reads their own."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from brand_kits.selectors import brand_kit_get
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .api import MyEndpoint
from .generation_requests import generation_request_retry, generation_request_start
from .models import GenerationRequest
from .selectors import generation_request_list


class GenerationRequestOut(serializers.ModelSerializer):
    brand_kit = serializers.IntegerField(source="brand_kit_version.kit_id")
    brand_kit_version = serializers.IntegerField(source="brand_kit_version.version")

    class Meta:
        model = GenerationRequest
        fields = ["id", "employee", "status", "brand_kit", "brand_kit_version", "progress_total", "progress_done",
                  "selfies_accepted", "selfies_rejected", "selfie_verdicts", "error", "attempts", "created_at",
                  "queued_at", "started_at", "finished_at"]


class GenerationRequestIn(serializers.Serializer):
    brand_kit = serializers.IntegerField(required=False)


class GenerationRequestListApi(OrganizationAdminEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut

    @extend_schema(responses=GenerationRequestOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(generation_request_list(organization=self.organization))


class _GenerationRequestApi:
    """One request by request_id; the admin and the employee views differ only in whose requests they can see."""

    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut
    lookup_url_kwarg = "request_id"


class _GenerationRequestDetail(_GenerationRequestApi):
    @extend_schema(responses=GenerationRequestOut)
    def get(self, request, org_slug: str, request_id: int):
        return Response(GenerationRequestOut(self.get_object()).data)


class GenerationRequestDetailApi(_GenerationRequestDetail, OrganizationAdminEndpoint):
    """Any request of the organization (admins)."""


class GenerationRequestRetryApi(_GenerationRequestApi, OrganizationAdminEndpoint):
    @extend_schema(request=None, responses={202: GenerationRequestOut})
    def post(self, request, org_slug: str, request_id: int):
        """Send a failed request through the queue again (after the disk was freed, Ray came back, ...); the
        headshots it already stored are kept and only the missing ones are made. 409 unless it failed."""
        generation = generation_request_retry(request=self.get_object(), actor=request.user)
        return Response(GenerationRequestOut(generation).data, status=status.HTTP_202_ACCEPTED)


class MyGenerationRequestListApi(MyEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut

    @extend_schema(responses=GenerationRequestOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(generation_request_list(organization=self.organization, user=request.user))

    @extend_schema(request=GenerationRequestIn, responses={201: GenerationRequestOut})
    def post(self, request, org_slug: str):
        """Start generating headshots from the current selfies with the organization's brand kit."""
        data = GenerationRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        kit = None
        if "brand_kit" in data.validated_data:
            kit = brand_kit_get(organization=self.organization, kit_id=data.validated_data["brand_kit"])
            if kit is None:
                raise DomainError("No such brand kit.", code="not_found", status_code=404)
        generation = generation_request_start(employee=self.employee(), created_by=request.user, brand_kit=kit)
        return Response(GenerationRequestOut(generation).data, status=status.HTTP_201_CREATED)


class MyGenerationRequestDetailApi(_GenerationRequestDetail, MyEndpoint):
    """One of the signed-in employee's own requests."""
