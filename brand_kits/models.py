"""BrandKit and its immutable versions: an edit makes a new version; headshots point at the version they used."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from tenancy.models import TenantModel


class BrandKit(TenantModel):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Archived kits keep their versions (headshots reference them) but can't start new requests.
    archived_at = models.DateTimeField(null=True, blank=True)
    # The variant-ranking model's state (inference.ranking), learnt from what employees select with this kit.
    ranking_state = models.JSONField(default=dict, blank=True)
    # Industry preset the kit started from, if any.
    preset = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> BrandKitVersion:
        return self.versions.order_by("-version").first()


def background_upload_to(instance: BrandKitVersion, filename: str) -> str:
    return (f"orgs/{instance.organization_id}/brand_kits/{instance.kit_id}/v{instance.version}/"
            f"background{_suffix(filename)}")


def style_reference_upload_to(instance: BrandKitVersion, filename: str) -> str:
    return (f"orgs/{instance.organization_id}/brand_kits/{instance.kit_id}/v{instance.version}/"
            f"style-reference{_suffix(filename)}")


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot != -1 else ""


class BrandKitVersion(TenantModel):
    kit = models.ForeignKey(BrandKit, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    # inference.BrandSpec.to_dict() without name/version/image path, which come from the rows above.
    spec = models.JSONField()
    background_image = models.FileField(upload_to=background_upload_to, blank=True)
    # An existing company headshot HR uploaded: the klein backend matches its light, framing, attire formality and
    # colour grade, never its person. Kept per version, like the background, so every headshot stays explainable.
    style_reference = models.FileField(upload_to=style_reference_upload_to, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kit_id", "version"]
        constraints = [models.UniqueConstraint(fields=["kit", "version"], name="one_row_per_kit_version")]

    def __str__(self) -> str:
        return f"{self.kit.name} v{self.version}"
