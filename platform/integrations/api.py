"""Admin endpoints of integrations: the streaming ZIP export, export jobs for destination presets, API keys."""
from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenancy.api import DomainError, OrganizationAdminEndpoint

from .delivery import DESTINATION_PRESETS
from .export_jobs import export_job_retry, export_job_start
from .exports import export_zip_write
from .models import ApiKey, ApiKeyScope, ExportJob, ExportStatus
from .services import api_key_create, api_key_revoke, api_key_rotate


class HeadshotExportApi(OrganizationAdminEndpoint):
    @extend_schema(parameters=[OpenApiParameter("approved_only", bool, default=True)],
                   responses={(200, "application/zip"): bytes})
    def get(self, request, org_slug: str):
        """ZIP of headshots (approved ones by default; approved_only=false for all) with a CSV manifest."""
        approved_only = request.query_params.get("approved_only", "true").lower() not in {"0", "false", "no"}
        # A temporary file on disk, not memory: the job-based, storage-streamed export comes with the sync issue.
        target = tempfile.TemporaryFile()
        export_zip_write(organization=self.organization, approved_only=approved_only, target=target)
        target.seek(0)
        filename = f"{self.organization.slug}-headshots.zip"
        return FileResponse(target, as_attachment=True, filename=filename, content_type="application/zip")



# API keys (admins) ----------------------------------------------------------------------------------------------


class ApiKeyOut(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="active, rotating (works until revoked_at), revoked "
                                                             "or expired")
    created_by = serializers.EmailField(source="created_by.email", default=None, read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "status", "created_by", "created_at", "last_used_at",
                  "revoked_at", "expires_at", "rotated_from"]


class IssuedApiKeyOut(ApiKeyOut):
    key = serializers.CharField(read_only=True, help_text="The full key: shown this once, never again.")

    class Meta(ApiKeyOut.Meta):
        fields = ApiKeyOut.Meta.fields + ["key"]


class ApiKeyIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices), allow_empty=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyRotateIn(serializers.Serializer):
    grace_seconds = serializers.IntegerField(
        required=False, default=0, min_value=0,
        help_text="How long the old key keeps working (0, the default: it stops now).")


def _issued(issued) -> dict:
    data = IssuedApiKeyOut(issued.api_key).data
    data["key"] = issued.key
    return data


class ApiKeyListApi(OrganizationAdminEndpoint):
    tenant_model = ApiKey
    serializer_class = ApiKeyOut

    @extend_schema(responses=ApiKeyOut(many=True))
    def get(self, request, org_slug: str):
        """The organization's API keys (never their secrets)."""
        return self.paginated_response(self.get_queryset().select_related("created_by"))

    @extend_schema(request=ApiKeyIn, responses={201: IssuedApiKeyOut})
    def post(self, request, org_slug: str):
        """Create a key for an HRIS or directory; the response holds the full key, shown only this once."""
        data = ApiKeyIn(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_key_create(organization=self.organization, created_by=request.user, **data.validated_data)
        return Response(_issued(issued), status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(OrganizationAdminEndpoint):
    tenant_model = ApiKey
    serializer_class = ApiKeyOut
    lookup_url_kwarg = "api_key_id"

    @extend_schema(responses=ApiKeyOut)
    def get(self, request, org_slug: str, api_key_id: int):
        return Response(ApiKeyOut(self.get_object()).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, api_key_id: int):
        """Revoke the key: calls with it get 401 from now on."""
        api_key_revoke(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRotateApi(OrganizationAdminEndpoint):
    tenant_model = ApiKey
    serializer_class = IssuedApiKeyOut
    lookup_url_kwarg = "api_key_id"

    @extend_schema(request=ApiKeyRotateIn, responses={201: IssuedApiKeyOut})
    def post(self, request, org_slug: str, api_key_id: int):
        """A new key with the same name and scopes; the old one stops now, or after grace_seconds."""
        api_key = self.get_object()
        data = ApiKeyRotateIn(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_key_rotate(api_key=api_key, created_by=request.user, **data.validated_data)
        return Response(_issued(issued), status=status.HTTP_201_CREATED)


# Export jobs (admins) -------------------------------------------------------------------------------------------


class ExportJobOut(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email", default=None, read_only=True)

    class Meta:
        model = ExportJob
        fields = ["id", "number", "preset", "approved_only", "status", "total", "done", "skipped", "error",
                  "size_bytes",
                  "attempts", "download_url", "created_by", "created_at", "started_at", "finished_at"]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != ExportStatus.DONE:
            return None
        request = self.context["request"]
        return request.build_absolute_uri(reverse("api:tenant:export-job-download", kwargs={
            "org_slug": job.organization.slug, "export_id": job.pk}))


class ExportJobIn(serializers.Serializer):
    preset = serializers.ChoiceField(choices=list(DESTINATION_PRESETS))
    approved_only = serializers.BooleanField(default=True)


class ExportJobListApi(OrganizationAdminEndpoint):
    tenant_model = ExportJob
    serializer_class = ExportJobOut

    @extend_schema(responses=ExportJobOut(many=True))
    def get(self, request, org_slug: str):
        jobs = self.get_queryset().select_related("organization", "created_by")
        return self.paginated_response(jobs, context={"request": request})

    @extend_schema(request=ExportJobIn, responses={202: ExportJobOut})
    def post(self, request, org_slug: str):
        """Start an export for a destination preset: a job renders each headshot and stores the ZIP."""
        data = ExportJobIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = export_job_start(organization=self.organization, created_by=request.user, **data.validated_data)
        return Response(ExportJobOut(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportJobDetailApi(OrganizationAdminEndpoint):
    tenant_model = ExportJob
    serializer_class = ExportJobOut
    lookup_url_kwarg = "export_id"

    @extend_schema(responses=ExportJobOut)
    def get(self, request, org_slug: str, export_id: int):
        """Status and progress (done of total); download_url once done."""
        return Response(ExportJobOut(self.get_object(), context={"request": request}).data)


class ExportJobRetryApi(OrganizationAdminEndpoint):
    tenant_model = ExportJob
    serializer_class = ExportJobOut
    lookup_url_kwarg = "export_id"

    @extend_schema(request=None, responses={202: ExportJobOut})
    def post(self, request, org_slug: str, export_id: int):
        """Run a failed export again."""
        job = export_job_retry(job=self.get_object())
        return Response(ExportJobOut(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportJobDownloadApi(OrganizationAdminEndpoint):
    tenant_model = ExportJob
    lookup_url_kwarg = "export_id"

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, org_slug: str, export_id: int):
        """The finished ZIP, streamed from storage."""
        job = self.get_object()
        if job.status != ExportStatus.DONE or not job.file:
            raise DomainError(_("This export is %(status)s, not ready to download.") % {"status": job.status},
                              code="export_not_ready", status_code=409)
        return FileResponse(job.file.storage.open(job.file.name, "rb"), as_attachment=True,
                            filename=job.file.name.rsplit("/", 1)[-1], content_type="application/zip")
