"""The teams API's base for an employee's own endpoints, and the headshot endpoints: admins list, approve and fetch
any of the organization's headshots; employees list, pick, approve and fetch their own."""
from __future__ import annotations

import io

from django.http import FileResponse, Http404, HttpResponseNotModified
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from audit.services import record as audit_record
from config.request_input import ascii_id
from tenancy.api import DomainError, OrganizationAdminEndpoint, OrganizationEndpoint

from .headshots import headshot_approve, headshot_set_selected
from .models import Employee, Headshot
from .rendering import delivery_etag, render_headshot
from .review import NOTE_MAX_CHARS, headshot_review_approve, headshot_review_withdraw
from .selectors import employee_of_user, headshot_list, my_headshot_list


class MyEndpoint(OrganizationEndpoint):
    """Endpoints about the signed-in person's own employee record in this organization."""

    def employee(self) -> Employee:
        employee = employee_of_user(organization=self.organization, user=self.request.user)
        if employee is None:
            raise Http404("You have no employee profile in this organization.")
        return employee

    def get_queryset(self):
        return self.tenant_queryset().filter(employee__user=self.request.user)


class HeadshotOut(serializers.ModelSerializer):
    brand_kit = serializers.IntegerField(source="brand_kit_version.kit_id")
    brand_kit_version = serializers.IntegerField(source="brand_kit_version.version")
    sizes = serializers.SerializerMethodField()

    class Meta:
        model = Headshot
        fields = ["id", "employee", "request", "source_selfie", "variant", "variant_params", "brand_kit",
                  "brand_kit_version", "width", "height", "sizes", "rank", "rank_score", "qc", "qc_passed", "selected",
                  "approved", "approved_at", "review_status", "review_note", "reviewed_by", "reviewed_at",
                  "created_at"]

    def get_sizes(self, headshot: Headshot) -> list[int]:
        return sorted(int(size) for size in headshot.renditions)


class SelectIn(serializers.Serializer):
    selected = serializers.BooleanField(default=True)


class ApproveIn(serializers.Serializer):
    approved = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=NOTE_MAX_CHARS, required=False, allow_blank=True, default="",
                                 help_text="optional; shown with the headshot in the review queue")


class HeadshotListApi(OrganizationAdminEndpoint):
    tenant_model = Headshot
    serializer_class = HeadshotOut

    @extend_schema(responses=HeadshotOut(many=True), parameters=[
        OpenApiParameter("employee", int), OpenApiParameter("approved", bool), OpenApiParameter("qc_passed", bool)])
    def get(self, request, org_slug: str):
        filters = {}
        if employee := request.query_params.get("employee"):
            if (employee_id := ascii_id(employee)) is None:  # not "²".isdigit(): int() of it was a 500
                raise DomainError("employee must be an employee id.", code="invalid_employee")
            filters["employee_id"] = employee_id
        for field in ("approved", "qc_passed"):
            if (value := request.query_params.get(field)) is not None:
                filters[field] = value.lower() in {"1", "true", "yes"}
        return self.paginated_response(headshot_list(organization=self.organization, **filters))


class HeadshotApproveApi(OrganizationAdminEndpoint):
    tenant_model = Headshot
    serializer_class = ApproveIn
    lookup_url_kwarg = "headshot_id"

    @extend_schema(request=ApproveIn, responses=HeadshotOut)
    def post(self, request, org_slug: str, headshot_id: int):
        data = ApproveIn(data=request.data)
        data.is_valid(raise_exception=True)
        # The same review service as the portal's queue, so both paths record the reviewer and the status.
        review = headshot_review_approve if data.validated_data["approved"] else headshot_review_withdraw
        headshot = review(headshot=self.get_object(), actor=request.user, note=data.validated_data["note"])
        return Response(HeadshotOut(headshot).data)


class HeadshotFileApi(OrganizationEndpoint):
    """The image itself: admins may fetch any of the organization's headshots, employees only their own."""

    tenant_model = Headshot
    lookup_url_kwarg = "headshot_id"

    def get_queryset(self):
        queryset = self.tenant_queryset()
        if not self.request.membership.is_admin:
            queryset = queryset.filter(employee__user=self.request.user)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("size", int,
                                                description="a rendition width; the PNG master if absent")],
                   responses={(200, "image/*"): bytes, 304: None})
    def get(self, request, org_slug: str, headshot_id: int):
        """The image as delivered everywhere (metadata stripped, labelled AI-generated); an ETag answers 304."""
        headshot = self.get_object()
        size = request.query_params.get("size")
        if size is None:
            options = {"fmt": "PNG"}
        elif size in headshot.renditions:
            width = int(size)
            options = {"size": max(width, round(width * headshot.height / headshot.width)), "fmt": "JPEG"}
        else:
            raise DomainError(f"size must be one of {', '.join(sorted(headshot.renditions, key=int))}.",
                              code="invalid_size")
        etag = delivery_etag(headshot, **options)
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            response = HttpResponseNotModified()
        else:
            delivered = render_headshot(headshot, **options)
            response = FileResponse(io.BytesIO(delivered.data), content_type=delivered.content_type)
            audit_record(action="headshot.viewed", object=headshot, request=request, status_code=200)
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response


class MyHeadshotListApi(MyEndpoint):
    tenant_model = Headshot
    serializer_class = HeadshotOut

    @extend_schema(responses=HeadshotOut(many=True))
    def get(self, request, org_slug: str):
        """Your headshots that passed quality control, best-ranked first."""
        return self.paginated_response(my_headshot_list(organization=self.organization, user=request.user))


class MyHeadshotSelectApi(MyEndpoint):
    tenant_model = Headshot
    serializer_class = SelectIn
    lookup_url_kwarg = "headshot_id"

    @extend_schema(request=SelectIn, responses=HeadshotOut)
    def post(self, request, org_slug: str, headshot_id: int):
        """Mark (or unmark) one of your headshots as a favourite."""
        data = SelectIn(data=request.data)
        data.is_valid(raise_exception=True)
        headshot = headshot_set_selected(headshot=self.get_object(), selected=data.validated_data["selected"])
        return Response(HeadshotOut(headshot).data)


class MyHeadshotApproveApi(MyEndpoint):
    tenant_model = Headshot
    serializer_class = ApproveIn
    lookup_url_kwarg = "headshot_id"

    @extend_schema(request=None, responses=HeadshotOut)
    def post(self, request, org_slug: str, headshot_id: int):
        """Approve one of your own headshots for the company directory (only ones that passed quality control)."""
        headshot = self.get_object()
        if not headshot.qc_passed:
            raise DomainError("This headshot did not pass quality control; choose another one.", code="qc_failed",
                              status_code=409)
        headshot = headshot_approve(headshot=headshot, approved=True, actor=request.user)
        return Response(HeadshotOut(headshot).data)
