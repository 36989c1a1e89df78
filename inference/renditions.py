"""Renditions: the lossless PNG master and one sRGB JPEG per brand output width, with no EXIF or other metadata."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms

from .request import Rendition

JPEG_QUALITY = 90
# zlib level 3 is ~3x faster than Pillow's default 6 for a few percent larger masters.
PNG_COMPRESS_LEVEL = 3
# Tag every file as sRGB explicitly: browsers and HRIS systems otherwise guess, and some guess wrong.
_SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode_master_png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_check_rgb(rgb)).save(
        buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, icc_profile=_SRGB_ICC
    )
    return buffer.getvalue()


def make_renditions(rgb: np.ndarray, widths: tuple[int, ...], *, quality: int = JPEG_QUALITY) -> tuple[Rendition, ...]:
    """One JPEG per width, largest first; heights keep the master's aspect, and nothing is upscaled."""
    master = Image.fromarray(_check_rgb(rgb))
    renditions = []
    for width in sorted(set(widths), reverse=True):
        width = min(width, master.width)
        height = max(1, round(master.height * width / master.width))
        image = master if (width, height) == master.size else master.resize(
            (width, height), Image.Resampling.LANCZOS, reducing_gap=2.0
        )
        buffer = io.BytesIO()
        # No exif= argument: Pillow then writes no EXIF block at all.
        image.save(buffer, format="JPEG", quality=quality, optimize=True, icc_profile=_SRGB_ICC)
        renditions.append(Rendition(width=width, height=height, format="JPEG", data=buffer.getvalue()))
    return tuple(renditions)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 uint8 RGB array")
    return np.ascontiguousarray(rgb)
