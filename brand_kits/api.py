"""Brand kit endpoints (admins): CRUD where every edit adds a version, and background image upload."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config.parsers import FormParser, JSONField, MultiPartParser
from inference.presets import catalogue
from tenancy.api import OrganizationAdminEndpoint

from .models import BrandKit, BrandKitVersion
from .selectors import brand_kit_list, brand_kit_versions
from .services import (
    BACKGROUND_MAX_BYTES,
    BACKGROUND_MAX_PIXELS,
    brand_kit_archive,
    brand_kit_create,
    brand_kit_update,
    brand_spec_for,
    kit_backend,
)


class BrandSpecField(JSONField):
    """The spec as JSON; ranges are checked by inference.BrandSpec in the service, one source of truth."""


def current_version(kit: BrandKit) -> BrandKitVersion:
    """kit.current_version, read once per kit (five fields use it), from the list's prefetch when there is one."""
    if getattr(kit, "_current_version", None) is None:
        newest = getattr(kit, "newest_versions", None)
        kit._current_version = newest[0] if newest else kit.current_version
    return kit._current_version


class BrandKitOut(serializers.ModelSerializer):
    version = serializers.SerializerMethodField()
    spec = serializers.SerializerMethodField()
    background_image = serializers.SerializerMethodField()
    style_reference = serializers.SerializerMethodField()
    backend = serializers.SerializerMethodField()

    class Meta:
        model = BrandKit
        fields = ["id", "name", "preset", "version", "spec", "background_image", "style_reference", "backend",
                  "created_at", "archived_at"]

    def get_version(self, kit: BrandKit) -> int:
        return current_version(kit).version

    def get_spec(self, kit: BrandKit) -> dict:
        return current_version(kit).spec

    def get_background_image(self, kit: BrandKit) -> str | None:
        image = current_version(kit).background_image
        return image.name if image else None

    def get_style_reference(self, kit: BrandKit) -> str | None:
        image = current_version(kit).style_reference
        return image.name if image else None

    def get_backend(self, kit: BrandKit) -> str:
        """The backend that makes this kit's headshots (the kit's `backend`, or the deployment's for "default")."""
        return kit_backend(brand_spec_for(current_version(kit)))


class BrandKitVersionOut(serializers.ModelSerializer):
    class Meta:
        model = BrandKitVersion
        fields = ["id", "version", "spec", "created_at"]


class BrandKitIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    spec = BrandSpecField(required=False, default=dict)
    preset = serializers.CharField(max_length=40, required=False, default="",
                                   help_text="an industry preset to start from (see brand-kit-presets)")


class BrandKitPatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    spec = BrandSpecField(required=False)



class _BrandKitApi(OrganizationAdminEndpoint):
    """One kit of the organization, by kit_id; every change to it is a new version."""

    tenant_model = BrandKit
    lookup_url_kwarg = "kit_id"

    def updated(self, kit: BrandKit, **changes) -> Response:
        """Save `changes` as the kit's next version and answer with the kit as it now is."""
        brand_kit_update(kit=kit, created_by=self.request.user, **changes)
        kit.refresh_from_db()
        return Response(BrandKitOut(kit).data)


class BrandKitListApi(OrganizationAdminEndpoint):
    tenant_model = BrandKit
    serializer_class = BrandKitOut

    @extend_schema(responses=BrandKitOut(many=True))
    def get(self, request, org_slug: str):
        return self.paginated_response(brand_kit_list(organization=self.organization))

    @extend_schema(request=BrandKitIn, responses={201: BrandKitOut})
    def post(self, request, org_slug: str):
        data = BrandKitIn(data=request.data)
        data.is_valid(raise_exception=True)
        kit = brand_kit_create(organization=self.organization, created_by=request.user, **data.validated_data)
        return Response(BrandKitOut(kit).data, status=status.HTTP_201_CREATED)


class BrandKitDetailApi(_BrandKitApi):
    serializer_class = BrandKitOut

    @extend_schema(responses=BrandKitOut)
    def get(self, request, org_slug: str, kit_id: int):
        return Response(BrandKitOut(self.get_object()).data)

    @extend_schema(request=BrandKitPatchIn, responses=BrandKitOut)
    def patch(self, request, org_slug: str, kit_id: int):
        kit = self.get_object()
        data = BrandKitPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.updated(kit, **data.validated_data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_slug: str, kit_id: int):
        # Archive, never delete: headshots keep pointing at the version that made them.
        brand_kit_archive(kit=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class BackgroundIn(serializers.Serializer):
    background_image = serializers.FileField(help_text=(
        f"A still JPEG, PNG or WebP image (not animated) of at most {BACKGROUND_MAX_BYTES // 2**20} MB and "
        f"{BACKGROUND_MAX_PIXELS // 1_000_000} megapixels."))


class BrandKitBackgroundApi(_BrandKitApi):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = BackgroundIn

    @extend_schema(request=BackgroundIn, responses=BrandKitOut)
    def post(self, request, org_slug: str, kit_id: int):
        """Upload a background plate; the kit's next version uses it as an image background."""
        kit = self.get_object()
        data = BackgroundIn(data=request.data)
        data.is_valid(raise_exception=True)
        spec = {"background": {**kit.current_version.spec["background"], "kind": "image"}}
        return self.updated(kit, spec=spec, background_image=data.validated_data["background_image"])


class StyleReferenceIn(serializers.Serializer):
    style_reference = serializers.FileField()


class BrandKitStyleReferenceApi(_BrandKitApi):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = StyleReferenceIn

    @extend_schema(request=StyleReferenceIn, responses=BrandKitOut)
    def post(self, request, org_slug: str, kit_id: int):
        """Upload an existing company headshot: the klein backend matches its light, framing, attire formality and
        colour grade, never its person. The kit's next version carries it."""
        kit = self.get_object()
        data = StyleReferenceIn(data=request.data)
        data.is_valid(raise_exception=True)
        return self.updated(kit, style_reference=data.validated_data["style_reference"])

    @extend_schema(responses={200: BrandKitOut})
    def delete(self, request, org_slug: str, kit_id: int):
        """The kit's next version has no style reference (nothing changes when it has none)."""
        kit = self.get_object()
        if not kit.current_version.style_reference:
            return Response(BrandKitOut(kit).data)
        return self.updated(kit, remove_style_reference=True)


class BrandKitVersionListApi(_BrandKitApi):
    serializer_class = BrandKitVersionOut
    pagination_class = None  # every version, as a plain list (the schema said paginated)

    @extend_schema(responses=BrandKitVersionOut(many=True))
    def get(self, request, org_slug: str, kit_id: int):
        kit = self.get_object()
        return Response(BrandKitVersionOut(brand_kit_versions(kit=kit), many=True).data)


class PresetOut(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    brand = serializers.JSONField()


class BrandKitPresetListApi(OrganizationAdminEndpoint):
    serializer_class = PresetOut
    pagination_class = None  # the whole catalogue, as a plain list

    @extend_schema(responses=PresetOut(many=True))
    def get(self, request, org_slug: str):
        """Industry starting points (corporate/finance, creative, healthcare, real estate, tech, legal, education)."""
        return Response(PresetOut(catalogue(), many=True).data)
