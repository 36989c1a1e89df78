"""Brand kit writes, and compiling a stored version into the `inference.BrandSpec` the pipeline reads."""
from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from config.errors import ServiceError
from inference.brand import BrandSpec, BrandSpecError
from inference.presets import preset_brand_dict
from tenancy.models import Organization

from .models import BrandKit, BrandKitVersion

BACKGROUND_MAX_BYTES = 20 * 1024 * 1024
BACKGROUND_MAX_PIXELS = 40_000_000


# The README and the portal speak of "technology"; the preset's id is `tech`. Accept the documented word too.
PRESET_ALIASES = {"technology": "tech"}


def preset_canonical(name: str) -> str:
    """The preset id for a name as people write it ("Technology", "real estate"); unknown names pass through."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return PRESET_ALIASES.get(key, key)


class BrandKitError(ServiceError):
    """A brand kit edit refused; `field` names the form field it is about (the portal shows it there)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__("invalid_brand_kit", message)
        self.field = field


def _stored_spec(data: dict[str, Any]) -> dict[str, Any]:
    """Validate through BrandSpec (one source of truth for ranges) and keep the stored form."""
    data = {k: v for k, v in data.items() if k not in {"name", "version", "style_reference"}}
    if not isinstance(data.get("background", {}), dict):  # BrandSpec names it; dict("white") would raise first
        return _checked_spec(data)
    background = dict(data.get("background") or {})
    background.pop("image_path", None)
    if background.get("kind") == "image":
        # The path is filled in at compile time; a placeholder lets BrandSpec check the rest now.
        background["image_path"] = "pending"
    stored = _checked_spec({**data, "background": background}).to_dict()
    stored.pop("name")
    stored.pop("version")
    stored.pop("style_reference")  # the file lives on the version row; its path is filled in at compile time
    stored["background"].pop("image_path")
    return stored


def _checked_spec(data: dict[str, Any]) -> BrandSpec:
    try:
        return BrandSpec.from_dict(data)
    except BrandSpecError as exc:
        raise BrandKitError(str(exc)) from None


# What the error text promises: still JPEG, PNG or WebP. MPO is how Pillow names a camera JPEG that carries extra
# pictures (a depth map, a preview); its first picture is an ordinary JPEG, so it counts as one.
BACKGROUND_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
BACKGROUND_FORMATS_TEXT = "a still JPEG, PNG or WebP image"


def _checked_background(upload) -> ContentFile:
    return _checked_image(upload, "background_image", "background image", "background")


def _checked_style_reference(upload) -> ContentFile:
    return _checked_image(upload, "style_reference", "style reference", "style reference")


def _checked_image(upload, field: str, label: str, subject: str) -> ContentFile:
    if upload.size > BACKGROUND_MAX_BYTES:
        raise BrandKitError(f"The {label} is larger than 20 MB.", field)
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as im:
            # Format and animation first, from the header: a 10,000-frame GIF was accepted and decoded before.
            animated = im.format != "MPO" and getattr(im, "is_animated", False)
            if im.format not in BACKGROUND_FORMATS:
                kind = f"an animated {im.format}" if animated else im.format
                raise BrandKitError(f"The {subject} must be {BACKGROUND_FORMATS_TEXT}; this one is {kind}.", field)
            if animated:
                raise BrandKitError(f"The {subject} must be {BACKGROUND_FORMATS_TEXT}, not an animated one.", field)
            if im.width * im.height > BACKGROUND_MAX_PIXELS:
                raise BrandKitError(f"The {label} has more than 40 megapixels.", field)
            im.load()
    except BrandKitError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise BrandKitError(f"The {subject} must be a JPEG, PNG or WebP image.", field) from None
    return ContentFile(raw, name=getattr(upload, "name", f"{field}.png"))


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    # One level deep, so {"framing": {"eye_line": 0.4}} changes only the eye line.
    return {key: ({**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value)
            for key, value in {**base, **changes}.items()}


@transaction.atomic
def brand_kit_create(*, organization: Organization, name: str, spec: dict[str, Any], created_by=None,
                     background_image=None, style_reference=None, preset: str = "") -> BrandKit:
    """A new kit from a spec, optionally on top of an industry preset (the spec's fields win)."""
    if preset:
        preset = preset_canonical(preset)
        try:
            spec = _merged(preset_brand_dict(preset), spec)
        except KeyError as exc:
            raise BrandKitError(str(exc.args[0]), "preset") from None
    stored = _stored_spec(spec)
    background = _checked_background(background_image) if background_image is not None else None
    if stored["background"]["kind"] == "image" and background is None:
        raise BrandKitError("Upload a background image for an image background.", "background_image")
    style = _checked_style_reference(style_reference) if style_reference is not None else None
    kit = BrandKit.objects.create(organization=organization, name=name, preset=preset)
    _add_version(kit=kit, stored=stored, created_by=created_by, background=background, version=1, style=style)
    return kit


@transaction.atomic
def brand_kit_update(*, kit: BrandKit, name: str | None = None, spec: dict[str, Any] | None = None, created_by=None,
                     background_image=None, style_reference=None,
                     remove_style_reference: bool = False) -> BrandKitVersion:
    """An edit never changes a version in place: it adds the next version, so old headshots stay explainable."""
    kit = BrandKit.objects.select_for_update().get(pk=kit.pk)
    if kit.archived_at is not None:
        raise BrandKitError("This brand kit is archived.")
    current = kit.current_version
    merged = _merged(current.spec, spec or {})
    stored = _stored_spec(merged)
    background = _checked_background(background_image) if background_image is not None else None
    if background is None and stored["background"]["kind"] == "image":
        if not current.background_image:
            raise BrandKitError("Upload a background image for an image background.", "background_image")
        background = ContentFile(current.background_image.read(), name=current.background_image.name)
    # The style reference carries over to the new version unless replaced or removed.
    style = _checked_style_reference(style_reference) if style_reference is not None else None
    if style is None and current.style_reference and not remove_style_reference:
        style = ContentFile(current.style_reference.read(), name=current.style_reference.name)
    if name:
        kit.name = name
        kit.save(update_fields=["name"])
    return _add_version(kit=kit, stored=stored, created_by=created_by, background=background,
                        version=current.version + 1, style=style)


def _add_version(*, kit: BrandKit, stored: dict, created_by, background: ContentFile | None,
                 version: int, style: ContentFile | None = None) -> BrandKitVersion:
    row = BrandKitVersion(organization=kit.organization, kit=kit, version=version, spec=stored, created_by=created_by)
    if background is not None:
        row.background_image.save(background.name, background, save=False)
    if style is not None:
        row.style_reference.save(style.name.rsplit("/", 1)[-1], style, save=False)
    row.save()
    return row


def brand_kit_archive(*, kit: BrandKit) -> None:
    kit.archived_at = timezone.now()
    kit.save(update_fields=["archived_at"])


def brand_spec_for(version: BrandKitVersion) -> BrandSpec:
    """Compile a stored version into the plain dataclass the inference pipeline reads."""
    data = {**version.spec, "name": version.kit.name, "version": version.version}
    if data["background"].get("kind") == "image":
        data["background"] = {**data["background"], "image_path": version.background_image.path}
    if version.style_reference:
        data["style_reference"] = version.style_reference.path
    return BrandSpec.from_dict(data)


def resolved_backend(choice: str) -> str:
    """What a kit's `backend` choice means here: itself, or the deployment's (INFERENCE_BACKEND) for "default"."""
    return settings.INFERENCE_BACKEND if choice == "default" else choice


def kit_backend(spec: BrandSpec) -> str:
    """The backend that makes this kit's headshots."""
    return resolved_backend(spec.backend)
