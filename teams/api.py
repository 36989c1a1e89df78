"""Team endpoints: admins manage employees, invites and headshots; employees manage their own selfies and results."""
from __future__ import annotations

from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.models import Invite
from audit.services import record as audit_record
from brand_kits.models import BrandKit
from config.parsers import FormParser, MultiPartParser
from config.request_input import ascii_id
from config.throttling import SelfieUploadThrottle, UserThrottle
from tenancy.api import DomainError, OrganizationAdminEndpoint, OrganizationEndpoint

from .invites import employee_invite_send
from .models import (
    DEPARTMENT_MAX_LENGTH,
    EMPLOYEE_NUMBER_MAX_LENGTH,
    MANAGER_NAME_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Employee,
    GenerationRequest,
    Headshot,
    Selfie,
    Team,
)
from .review import NOTE_MAX_CHARS, headshot_review_approve, headshot_review_withdraw
from .selfie_checks import reason_message
from .services import (
    CSV_MAX_BYTES,
    CSV_MAX_REPORTED,
    CsvImportRefused,
    employee_create,
    employee_delete,
    employee_update,
    employees_import_csv,
    generation_request_start,
    headshot_approve,
    headshot_set_selected,
    selfie_delete,
    selfie_set_summary,
    selfie_upload_limits,
    selfies_upload,
    team_get_or_create,
)

# Serializers ---------------------------------------------------------------------------------------------------


class TeamOut(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "created_at"]


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class EmployeeOut(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", default=None, allow_null=True)  # null: in no team
    has_account = serializers.SerializerMethodField()
    manager = serializers.IntegerField(source="manager_id", allow_null=True,
                                       help_text="the manager's employee id here; null when not linked")
    manager_name = serializers.CharField(source="manager_display",
                                         help_text="the linked manager's name, else the name the directory gave")

    class Meta:
        model = Employee
        fields = ["id", "name", "email", "external_id", "external_ids", "team", "title", "department",
                  "employee_number", "manager", "manager_name", "has_account", "active", "deactivated_at",
                  "created_at", "updated_at"]

    def get_has_account(self, employee: Employee) -> bool:
        return employee.user_id is not None


class EmployeeDirectoryIn(serializers.Serializer):
    """Directory facts HR keeps (also set by SCIM): title, department, employee number, manager."""

    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False, allow_blank=True)
    department = serializers.CharField(max_length=DEPARTMENT_MAX_LENGTH, required=False, allow_blank=True)
    employee_number = serializers.CharField(max_length=EMPLOYEE_NUMBER_MAX_LENGTH, required=False, allow_blank=True)
    manager = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True,
                                       help_text="the id of another employee of this organization; null: none")
    manager_name = serializers.CharField(max_length=MANAGER_NAME_MAX_LENGTH, required=False, allow_blank=True,
                                         help_text="the manager's name, for a manager who isn't an employee here")


class EmployeeIn(EmployeeDirectoryIn):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    external_id = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    external_ids = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    team = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)


class EmployeePatchIn(EmployeeDirectoryIn):
    name = serializers.CharField(max_length=200, required=False)
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    external_ids = serializers.DictField(child=serializers.CharField(), required=False)
    team = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    active = serializers.BooleanField(required=False, help_text="false deactivates: access ends, pushes stop")


def _resolve_manager(organization, values: dict) -> None:
    """Replace the manager id in `values` by that employee, looked up in this organization only."""
    if values.get("manager") is None:
        return
    manager = Employee.objects.for_organization(organization).filter(pk=values["manager"]).first()
    if manager is None:
        # The same answer whether the id is unused or another organization's: ids of other tenants stay opaque.
        raise DomainError(f"No employee {values['manager']} in this organization to be the manager.",
                          code="invalid_manager")
    values["manager"] = manager


class InviteOut(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invite
        fields = ["id", "email", "role", "employee", "status", "created_at", "expires_at", "accepted_at"]


class SelfieOut(serializers.ModelSerializer):
    set_messages = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField(help_text="what selfie QC saw that the headshots will show, "
                                                           "one sentence with a tip each")

    class Meta:
        model = Selfie
        fields = ["id", "original_name", "checksum", "size_bytes", "width", "height", "uploaded_at", "in_set",
                  "set_reasons", "set_messages", "warnings", "qc"]

    def get_set_messages(self, selfie: Selfie) -> list[str]:
        return [reason_message(code) for code in selfie.set_reasons]

    def get_warnings(self, selfie: Selfie) -> list[str]:
        codes = (selfie.qc or {}).get("warnings") or []
        return [reason_message(code) for code in codes if isinstance(code, str)]


class SelfieSetOut(serializers.Serializer):
    in_set = serializers.IntegerField(help_text="accepted photos that count towards the set")
    required = serializers.IntegerField()
    max = serializers.IntegerField()
    ready = serializers.BooleanField()


class RejectedSelfieOut(serializers.Serializer):
    file = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    messages = serializers.ListField(child=serializers.CharField())


class UploadOut(serializers.Serializer):
    accepted = SelfieOut(many=True)
    rejected = RejectedSelfieOut(many=True)
    set = SelfieSetOut()


class UploadRefusedOut(serializers.Serializer):
    """The API error shape, for an upload refused as a whole (no files, no consent, set full)."""

    detail = serializers.CharField()
    code = serializers.CharField()


class SelfieListOut(serializers.Serializer):
    selfies = SelfieOut(many=True)
    set = SelfieSetOut()


class UploadIn(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False,
                                  help_text=selfie_upload_limits())


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


class ImportOut(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="always empty: a file with a bad row is "
                                                                          "refused whole (400)")


class ImportRowErrorOut(serializers.Serializer):
    line = serializers.IntegerField(help_text="the line of the file (the header is line 1)")
    column = serializers.CharField()
    error = serializers.CharField()


class ImportRowErrorsOut(serializers.Serializer):
    rows = ImportRowErrorOut(many=True, required=False,
                             help_text=f"every problem of every bad row, the first {CSV_MAX_REPORTED}")


class ImportRefusedOut(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="csv_rows_invalid when rows are listed in errors; csv_header, "
                                           "csv_encoding, csv_malformed or csv_too_large for the whole file")
    errors = ImportRowErrorsOut(required=False)


class CsvIn(serializers.Serializer):
    file = serializers.FileField(help_text=f"A UTF-8 CSV of at most {CSV_MAX_BYTES // 2**20} MB with a header row: "
                                           f"name,email[,external_id][,team].")


# Admin: teams and employees ------------------------------------------------------------------------------------


class TeamListApi(OrganizationAdminEndpoint):
    tenant_model = Team
    serializer_class = TeamOut

    @extend_schema(responses=TeamOut(many=True))
    def get(self, request, org_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TeamOut(page, many=True).data)

    @extend_schema(request=TeamIn, responses={201: TeamOut})
    def post(self, request, org_slug: str):
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_get_or_create(organization=self.organization, name=data.validated_data["name"])
        return Response(TeamOut(team).data, status=status.HTTP_201_CREATED)


class EmployeeListApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    serializer_class = EmployeeOut

    @extend_schema(responses=EmployeeOut(many=True))
    def get(self, request, org_slug: str):
        page = self.paginate_queryset(self.get_queryset().select_related("team", "manager"))
        return self.get_paginated_response(EmployeeOut(page, many=True).data)

    @extend_schema(request=EmployeeIn, responses={201: EmployeeOut})
    def post(self, request, org_slug: str):
        data = EmployeeIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        _resolve_manager(self.organization, values)
        team_name = values.pop("team", None)
        team = team_get_or_create(organization=self.organization, name=team_name) if team_name else None
        employee = employee_create(organization=self.organization, team=team, **values)
        return Response(EmployeeOut(employee).data, status=status.HTTP_201_CREATED)


class EmployeeDetailApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    serializer_class = EmployeeOut
    lookup_url_kwarg = "employee_id"

    @extend_schema(responses=EmployeeOut)
    def get(self, request, org_slug: str, employee_id: int):
        return Response(EmployeeOut(self.get_object()).data)

    @extend_schema(request=EmployeePatchIn, responses=EmployeeOut)
    def patch(self, request, org_slug: str, employee_id: int):
        employee = self.get_object()
        data = EmployeePatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        _resolve_manager(self.organization, values)
        if "team" in values:
            name = values.pop("team")
            values["team"] = team_get_or_create(organization=self.organization, name=name) if name else None
        employee = employee_update(employee=employee, **values)
        return Response(EmployeeOut(employee).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, employee_id: int):
        """Delete the employee and their data; their access here ends (409 for the organization's last owner)."""
        employee_delete(employee=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmployeeImportApi(OrganizationAdminEndpoint):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = CsvIn

    @extend_schema(request=CsvIn, responses={200: ImportOut, 400: ImportRefusedOut})
    def post(self, request, org_slug: str):
        """Import employees from a CSV of at most 5 MB, UTF-8 (header: name,email[,external_id][,team]); rows upsert
        by email. All or nothing: if any row is bad (a column longer than the field's maximum length, an invalid or
        repeated email, an external ID that is another person's, a NUL character), nothing is stored and the 400
        lists every problem by line and column."""
        data = CsvIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            result = employees_import_csv(organization=self.organization, data=upload.read(upload.size + 1))
        except CsvImportRefused as exc:
            return Response({"detail": exc.message, "code": exc.code, "errors": {"rows": exc.rows}},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": len(result.created), "updated": len(result.updated), "errors": []})


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
        page = self.paginate_queryset(self.get_queryset().order_by("-id"))
        return self.get_paginated_response(InviteOut(page, many=True).data)


class InviteDetailApi(OrganizationAdminEndpoint):
    tenant_model = Invite
    serializer_class = InviteOut
    lookup_url_kwarg = "invite_id"

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, invite_id: int):
        """Revoke an invite that hasn't been used yet."""
        from django.utils import timezone

        invite = self.get_object()
        if invite.accepted_at is None and invite.revoked_at is None:
            invite.revoked_at = timezone.now()
            invite.save(update_fields=["revoked_at"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# Admin: requests and headshots ---------------------------------------------------------------------------------


class GenerationRequestListApi(OrganizationAdminEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut

    @extend_schema(responses=GenerationRequestOut(many=True))
    def get(self, request, org_slug: str):
        page = self.paginate_queryset(self.get_queryset().select_related("brand_kit_version"))
        return self.get_paginated_response(GenerationRequestOut(page, many=True).data)


class GenerationRequestDetailApi(OrganizationAdminEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut
    lookup_url_kwarg = "request_id"

    @extend_schema(responses=GenerationRequestOut)
    def get(self, request, org_slug: str, request_id: int):
        return Response(GenerationRequestOut(self.get_object()).data)


class HeadshotListApi(OrganizationAdminEndpoint):
    tenant_model = Headshot
    serializer_class = HeadshotOut

    @extend_schema(responses=HeadshotOut(many=True), parameters=[
        OpenApiParameter("employee", int), OpenApiParameter("approved", bool), OpenApiParameter("qc_passed", bool)])
    def get(self, request, org_slug: str):
        queryset = self.get_queryset().select_related("brand_kit_version")
        if employee := request.query_params.get("employee"):
            if (employee_id := ascii_id(employee)) is None:  # not "²".isdigit(): int() of it was a 500
                raise DomainError("employee must be an employee id.", code="invalid_employee")
            queryset = queryset.filter(employee_id=employee_id)
        for field in ("approved", "qc_passed"):
            if (value := request.query_params.get(field)) is not None:
                queryset = queryset.filter(**{field: value.lower() in {"1", "true", "yes"}})
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(HeadshotOut(page, many=True).data)


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
        import io

        from django.http import HttpResponseNotModified
        from django.utils.http import parse_etags

        from integrations.delivery import delivery_etag, render_headshot

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


# Employee: their own selfies, requests and headshots -----------------------------------------------------------


class MyEndpoint(OrganizationEndpoint):
    """Endpoints about the signed-in person's own employee record in this organization."""

    def employee(self) -> Employee:
        employee = Employee.objects.for_organization(self.organization).filter(user=self.request.user).first()
        if employee is None:
            raise Http404("You have no employee profile in this organization.")
        return employee

    def get_queryset(self):
        return self.tenant_queryset().filter(employee__user=self.request.user)


class MeApi(MyEndpoint):
    serializer_class = EmployeeOut

    @extend_schema(responses=EmployeeOut)
    def get(self, request, org_slug: str):
        return Response(EmployeeOut(self.employee()).data)


class MySelfieListApi(MyEndpoint):
    tenant_model = Selfie
    serializer_class = SelfieOut
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UserThrottle, SelfieUploadThrottle]  # uploads run face QC: their own, tighter budget

    @extend_schema(responses=SelfieListOut)
    def get(self, request, org_slug: str):
        """Your selfies, each with whether it counts towards the set, and whether the set is ready."""
        employee = self.employee()
        return Response({"selfies": SelfieOut(self.get_queryset(), many=True).data,
                         "set": selfie_set_summary(employee)})

    # 400: every photo rejected (each with its verdict), or the upload refused as a whole (the error shape).
    @extend_schema(request=UploadIn, responses={201: UploadOut, 400: PolymorphicProxySerializer(
        component_name="UploadRejected", serializers=[UploadOut, UploadRefusedOut], resource_type_field_name=None)})
    def post(self, request, org_slug: str):
        """Upload one or more selfies (field `files`). Each photo gets its own verdict, with a reason and a tip."""
        employee = self.employee()
        uploads = request.FILES.getlist("files")
        if not uploads:
            raise DomainError("Attach one or more photos in the field 'files'.", code="no_files")
        result = selfies_upload(employee=employee, uploads=uploads)
        body = {"accepted": SelfieOut(result.accepted, many=True).data, "rejected": result.rejected,
                "set": selfie_set_summary(employee)}
        return Response(body, status=status.HTTP_201_CREATED if result.accepted else status.HTTP_400_BAD_REQUEST)


class MySelfieDetailApi(MyEndpoint):
    tenant_model = Selfie
    serializer_class = SelfieOut
    lookup_url_kwarg = "selfie_id"

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, selfie_id: int):
        selfie_delete(selfie=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyGenerationRequestListApi(MyEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut

    @extend_schema(responses=GenerationRequestOut(many=True))
    def get(self, request, org_slug: str):
        page = self.paginate_queryset(self.get_queryset().select_related("brand_kit_version"))
        return self.get_paginated_response(GenerationRequestOut(page, many=True).data)

    @extend_schema(request=GenerationRequestIn, responses={201: GenerationRequestOut})
    def post(self, request, org_slug: str):
        """Start generating headshots from the current selfies with the organization's brand kit."""
        data = GenerationRequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        kit = None
        if "brand_kit" in data.validated_data:
            kit = BrandKit.objects.for_organization(self.organization).filter(
                pk=data.validated_data["brand_kit"]).first()
            if kit is None:
                raise DomainError("No such brand kit.", code="not_found", status_code=404)
        generation = generation_request_start(employee=self.employee(), created_by=request.user, brand_kit=kit)
        return Response(GenerationRequestOut(generation).data, status=status.HTTP_201_CREATED)


class MyGenerationRequestDetailApi(MyEndpoint):
    tenant_model = GenerationRequest
    serializer_class = GenerationRequestOut
    lookup_url_kwarg = "request_id"

    @extend_schema(responses=GenerationRequestOut)
    def get(self, request, org_slug: str, request_id: int):
        return Response(GenerationRequestOut(self.get_object()).data)


class MyHeadshotListApi(MyEndpoint):
    tenant_model = Headshot
    serializer_class = HeadshotOut

    @extend_schema(responses=HeadshotOut(many=True))
    def get(self, request, org_slug: str):
        """Your headshots that passed quality control, best-ranked first."""
        queryset = self.get_queryset().filter(qc_passed=True).select_related("brand_kit_version")
        page = self.paginate_queryset(queryset.order_by("request_id", "rank", "id"))
        return self.get_paginated_response(HeadshotOut(page, many=True).data)


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
