"""An employee's own selfies: upload (each photo with its verdict), list with the set's readiness, delete."""
from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.parsers import FormParser, MultiPartParser
from config.throttling import SelfieUploadThrottle, UserThrottle
from tenancy.api import DomainError

from .api import MyEndpoint
from .models import Selfie
from .selfie_checks import reason_message
from .selfies import selfie_delete, selfie_set_summary, selfie_upload_limits, selfies_upload


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
