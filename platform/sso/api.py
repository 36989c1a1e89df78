"""Admin API for the organization's SAML identity provider: read, upload metadata and mapping, remove; presets."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config import request_input
from config.parsers import FormParser, JSONField, JSONParser, MultiPartParser
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .models import IdentityProviderConfig
from .presets import MAPPING_FIELDS, PRESETS
from .saml import _public, sp_acs_url, sp_entity_id
from .services import (
    METADATA_MAX_BYTES,
    idp_config_delete,
    idp_config_get,
    idp_config_save,
    idp_metadata_fetch,
    sso_require,
)


class ServiceProviderOut(serializers.Serializer):
    entity_id = serializers.CharField()
    acs_url = serializers.CharField()
    metadata_url = serializers.CharField()
    login_url = serializers.CharField()


class IdentityProviderOut(serializers.ModelSerializer):
    class Meta:
        model = IdentityProviderConfig
        fields = ["entity_id", "sso_url", "slo_url", "preset", "attribute_mapping", "allowed_domains", "enabled",
                  "allow_idp_initiated", "want_messages_signed", "certificate_count", "updated_at"]

    certificate_count = serializers.SerializerMethodField()

    def get_certificate_count(self, config: IdentityProviderConfig) -> int:
        return len(config.x509_certs)


class SsoConfigOut(serializers.Serializer):
    configured = serializers.BooleanField()
    service_provider = ServiceProviderOut()
    identity_provider = IdentityProviderOut(allow_null=True)
    require_sso = serializers.BooleanField()


class SsoConfigIn(serializers.Serializer):
    metadata_xml = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                         max_length=METADATA_MAX_BYTES)
    metadata = serializers.FileField(required=False, help_text=f"The IdP's metadata XML file (multipart), at most "
                                                               f"{METADATA_MAX_BYTES // 2**20} MB.")
    metadata_url = serializers.URLField(required=False, max_length=2000, help_text=(
        "The IdP's metadata URL, fetched now through the egress guard (https, public addresses only)."))
    preset = serializers.ChoiceField(choices=list(PRESETS), required=False)
    attribute_mapping = JSONField(required=False, help_text=f"Keys: {', '.join(MAPPING_FIELDS)}.")
    allowed_domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False,
                                            max_length=100)
    # allow_null keeps a multipart PUT that leaves a flag out from turning it off.
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    allow_idp_initiated = serializers.BooleanField(required=False, allow_null=True, default=None)
    want_messages_signed = serializers.BooleanField(required=False, allow_null=True, default=None)
    require_sso = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="Members reach the organization only through a session this IdP signed in (owners keep their API "
                  "tokens). Needs SSO on and one successful SSO sign-in first.")

    def validate_attribute_mapping(self, value):
        if isinstance(value, str):  # multipart sends it as JSON text
            try:
                value = request_input.loads(value, "attribute_mapping")  # depth and NUL, as a JSON body's
            except request_input.InputRefused:
                raise
            except ValueError:
                raise serializers.ValidationError("attribute_mapping must be a JSON object.") from None
        if not isinstance(value, dict):
            raise serializers.ValidationError("attribute_mapping must be a JSON object.")
        return value

    def validate_allowed_domains(self, value):
        # A form may send one comma-separated field.
        return [part.strip() for item in value for part in item.split(",") if part.strip()]


class SsoPresetOut(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    attribute_mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))


def _config_body(organization, config) -> dict:
    return {
        "configured": config is not None,
        "service_provider": {
            "entity_id": sp_entity_id(organization),
            "acs_url": sp_acs_url(organization),
            "metadata_url": sp_entity_id(organization),
            "login_url": _public(reverse("sso:start", kwargs={"org_slug": organization.slug})),
        },
        "identity_provider": IdentityProviderOut(config).data if config is not None else None,
        "require_sso": organization.require_sso,
    }


class SsoConfigApi(OrganizationAdminEndpoint):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    serializer_class = SsoConfigOut

    @extend_schema(responses=SsoConfigOut)
    def get(self, request, org_slug: str):
        """The organization's SAML set-up: what to give the IdP (our entity ID, ACS URL) and what we hold of it."""
        return Response(_config_body(self.organization, idp_config_get(self.organization)))

    @extend_schema(request={"application/json": SsoConfigIn, "multipart/form-data": SsoConfigIn},
                   responses=SsoConfigOut)
    def put(self, request, org_slug: str):
        """Set the IdP from its metadata (JSON `metadata_xml` or a multipart `metadata` file), the attribute mapping
        (a preset, optionally overridden field by field), the domains allowed to sign up on first sign-in, and whether
        SSO is on. Fields left out keep their values; metadata is required the first time."""
        data = SsoConfigIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        upload = values.pop("metadata", None)
        metadata = values.pop("metadata_xml", None)
        url = values.pop("metadata_url", None)
        if upload is not None:
            if upload.size > METADATA_MAX_BYTES:
                raise DomainError("The metadata file is larger than 1 MB.", code="metadata_too_large")
            metadata = upload.read()
        require = values.pop("require_sso", None)
        if url:
            metadata = idp_metadata_fetch(url)
        config = idp_config_save(organization=self.organization, metadata_xml=metadata or None, **values)
        if require is not None:
            sso_require(organization=self.organization, required=require, actor=request.user)
        return Response(_config_body(self.organization, config))

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str):
        """Remove the IdP: SSO stops; people sign in with emailed codes."""
        if not idp_config_delete(organization=self.organization):
            raise DomainError("Single sign-on is not configured.", code="not_found", status_code=404)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SsoPresetListApi(OrganizationAdminEndpoint):
    serializer_class = SsoPresetOut
    pagination_class = None

    @extend_schema(responses=SsoPresetOut(many=True))
    def get(self, request, org_slug: str):
        """Attribute mappings for common identity providers (Okta, Microsoft Entra ID, Google Workspace, custom)."""
        return Response([{"name": name, "label": p["label"], "attribute_mapping": p["attribute_mapping"]}
                         for name, p in PRESETS.items()])
