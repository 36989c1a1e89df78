"""The organization's own settings (admins): name, selfie-set bounds and biometric retention."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from .api import OrganizationAdminEndpoint
from .models import BIOMETRIC_RETENTION_DAYS_MAX, BIOMETRIC_RETENTION_DAYS_MIN
from .services import organization_update_settings


class OrganizationSettingsOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    selfies_required = serializers.IntegerField()
    selfies_max = serializers.IntegerField()
    biometric_retention_days = serializers.IntegerField(
        help_text="days after a headshot's approval when the selfies and face data are deleted")


class OrganizationSettingsIn(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    selfies_required = serializers.IntegerField(required=False, min_value=1)
    selfies_max = serializers.IntegerField(required=False, min_value=1)
    biometric_retention_days = serializers.IntegerField(
        required=False, min_value=BIOMETRIC_RETENTION_DAYS_MIN, max_value=BIOMETRIC_RETENTION_DAYS_MAX,
        help_text=f"{BIOMETRIC_RETENTION_DAYS_MIN} to {BIOMETRIC_RETENTION_DAYS_MAX} (BIPA: at most 3 years)")


class OrganizationSettingsApi(OrganizationAdminEndpoint):
    serializer_class = OrganizationSettingsOut

    @extend_schema(responses=OrganizationSettingsOut)
    def get(self, request, org_slug: str):
        return Response(OrganizationSettingsOut(self.organization).data)

    @extend_schema(request=OrganizationSettingsIn, responses=OrganizationSettingsOut)
    def patch(self, request, org_slug: str):
        data = OrganizationSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        organization = organization_update_settings(organization=self.organization, **data.validated_data)
        return Response(OrganizationSettingsOut(organization).data)
