"""Ingest: turn untrusted uploaded bytes into an upright 8-bit sRGB array at a working size, or a precise
IngestError."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageOps

from .errors import IngestError

# Registering is idempotent; it makes Image.open understand HEIC/HEIF (what iPhones upload).
pillow_heif.register_heif_opener()

_SRGB_PROFILE = ImageCms.createProfile("sRGB")
# Flattening transparent uploads onto white matches how people expect a "transparent" PNG portrait to look.
_ALPHA_BACKDROP = (255, 255, 255)


@dataclass(frozen=True)
class IngestLimits:
    max_bytes: int = 25_000_000
    max_pixels: int = 40_000_000
    min_side: int = 256
    # Long side of the working copy; every later stage runs on it, so it bounds their cost.
    working_long_side: int = 1600


@dataclass(frozen=True)
class DecodedImage:
    # H x W x 3 uint8, sRGB, EXIF orientation applied, long side <= limits.working_long_side.
    rgb: np.ndarray
    # Upright size of the photo as uploaded, before the working downscale.
    original_width: int
    original_height: int
    format: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def decode_image(data: bytes, limits: IngestLimits | None = None) -> DecodedImage:
    """Decode one uploaded photo; every size limit is checked before a single pixel is decoded."""
    limits = limits or IngestLimits()
    if not data:
        raise IngestError("empty_file", "The file is empty. Upload the photo again.")
    if len(data) > limits.max_bytes:
        raise IngestError(
            "too_large",
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB. "
            "Upload a smaller photo or export it at a lower resolution.",
        )
    with warnings.catch_warnings():
        # Pillow only warns between 1x and 2x its own pixel limit; a warning here must reject, not decode.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(limits) from None
        except Exception:  # UnidentifiedImageError, or a header so broken that the format plug-in itself fails
            raise IngestError(
                "not_an_image", "This file is not a photo we can read. Upload a JPEG, PNG or HEIC photo."
            ) from None

        width, height = image.size
        if width * height > limits.max_pixels:
            raise _too_many_pixels(limits)
        if min(width, height) < limits.min_side:
            raise IngestError(
                "too_small",
                f"The photo is only {width}x{height} pixels; it needs at least {limits.min_side} pixels on each side. "
                "Upload the original photo rather than a thumbnail.",
            )
        _request_draft(image, limits.working_long_side)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(limits) from None
        except (OSError, EOFError, SyntaxError, ValueError, IndexError, RuntimeError) as exc:
            # Pillow reports a cut-off file as "image file is truncated" / "Truncated File Read" / EOFError.
            text = str(exc).lower()
            if isinstance(exc, EOFError) or "truncat" in text or "premature" in text or "end of file" in text:
                raise IngestError(
                    "truncated_image",
                    "The photo file is incomplete (the upload was cut off). Upload it again.",
                ) from None
            raise IngestError(
                "corrupt_image", "The photo file is damaged and cannot be read. Upload it again or take a new one."
            ) from None

    image_format = image.format or "unknown"
    icc_profile = image.info.get("icc_profile")
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF must not cost the user their photo; orientation then stays as stored
        upright = image
    # The size as uploaded (draft() may have decoded a JPEG at 1/2..1/8), turned like the pixels were.
    original_width, original_height = (height, width) if upright.size != image.size else (width, height)
    rgb = _to_srgb(_downscale(_normalise_mode(upright), limits.working_long_side), icc_profile)
    array = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return DecodedImage(rgb=array, original_width=original_width, original_height=original_height, format=image_format)


def _too_many_pixels(limits: IngestLimits) -> IngestError:
    return IngestError(
        "too_many_pixels",
        f"The photo has more than {limits.max_pixels / 1e6:.0f} megapixels. "
        "Upload a smaller version (a normal phone photo is fine).",
    )


def _request_draft(image: Image.Image, working_long_side: int) -> None:
    """Let JPEG decode at 1/2, 1/4 or 1/8 scale when the photo is far larger than the working size."""
    if image.format != "JPEG":
        return
    width, height = image.size
    scale = working_long_side / max(width, height)
    if scale >= 0.5:
        return
    # draft() keeps the result at least this large, so the working copy still gets a true downscale.
    image.draft(image.mode, (max(1, int(width * scale)), max(1, int(height * scale))))


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Bring every Pillow mode down to RGB or CMYK (for the ICC step); alpha is flattened onto white."""
    mode = image.mode
    if mode in ("RGB", "CMYK"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # convert("L") would clip 16-bit values at 255; rescale by the mode's range instead.
        values = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if mode.startswith("I;16") else max(float(values.max(initial=0.0)), 1.0)
        if mode == "F" and peak <= 1.0:
            peak = 1.0
        grey = np.clip(values * (255.0 / peak) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if (mode == "P" and "transparency" in image.info) or mode in ("PA", "LA", "La", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGB", rgba.size, _ALPHA_BACKDROP)
        backdrop.paste(rgba, mask=rgba.getchannel("A"))
        return backdrop
    return image.convert("RGB")


def _downscale(image: Image.Image, working_long_side: int) -> Image.Image:
    long_side = max(image.size)
    if long_side <= working_long_side:
        return image
    scale = working_long_side / long_side
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # reducing_gap does most of the work with a cheap box reduction; Lanczos finishes it cleanly.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert through the embedded ICC profile (Display P3 phones, CMYK print files) when there is one."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                image, source, _SRGB_PROFILE, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile is common in the wild; fall back to treating the pixels as sRGB
    return image if image.mode == "RGB" else image.convert("RGB")
