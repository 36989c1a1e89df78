"""One function turns a stored headshot into the bytes a destination wants: size, square crop, format, byte limit,
stripped metadata, and the AI label (XMP always; C2PA when a signing certificate is configured).

Used by the teams API's headshot file (teams.api.HeadshotFileApi), and through integrations.delivery's destination
presets by the pull API, ZIP exports and photo pushes (Microsoft Graph, Google Directory, Slack, BambooHR, HiBob,
Workday), so every copy that leaves the platform is labelled the same way.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from PIL import Image, ImageCms

from . import c2pa_signing
from .labels import LABEL_VERSION, PRODUCT, TRAINED_ALGORITHMIC_MEDIA, ai_label_xmp, xmp_save_params
from .models import headshot_content_tag

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_FORMAT_ALIASES = {"JPG": "JPEG"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

JPEG_QUALITY = 90
# max_bytes: qualities tried in turn at each size, then the size shrinks by _SHRINK and the qualities run again.
_QUALITY_STEPS = (90, 85, 80, 75, 70, 60, 50, 40)
_SHRINK = 0.85
_SMALLEST_SIDE = 16
# Where a portrait's face sits when nothing says: about a fifth of the way down the spare height.
_TOP_WEIGHT = 0.2
# The face box relative to the eye line, in head heights (inference.finishing's face_box_from_plan).
_BROW_RISE, _CHIN_DROP = 0.3, 0.45
_SRGB = ImageCms.createProfile("sRGB")
_SRGB_ICC = ImageCms.ImageCmsProfile(_SRGB).tobytes()


@dataclass(frozen=True)
class Delivered:
    data: bytes
    content_type: str
    width: int
    height: int
    format: str  # "JPEG" | "PNG" | "WEBP"
    # ETag, quoted for the HTTP header: same headshot, source files, options and label -> same value and, unless
    # C2PA signing is on (then W/"..."), the same bytes.
    etag: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def digital_source_type(self) -> str:
        """What the embedded label declares (IPTC), for manifests and API bodies that describe the file."""
        return TRAINED_ALGORITHMIC_MEDIA


def check_format(fmt: str) -> str:
    normal = _FORMAT_ALIASES.get(str(fmt).upper(), str(fmt).upper())
    if normal not in FORMATS:
        raise ValueError(f"Unknown image format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    return normal


def _options(size, square, fmt, max_bytes, min_size) -> dict[str, Any]:
    for name, value in (("size", size), ("max_bytes", max_bytes), ("min_size", min_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive whole number of "
                             f"{'bytes' if name == 'max_bytes' else 'pixels'}.")
    return {"size": size, "square": bool(square), "fmt": check_format(fmt), "max_bytes": max_bytes,
            "min_size": min_size}


class EtagSource(NamedTuple):
    """What a delivered image's ETag depends on besides the delivery options: the row and its content tag."""

    pk: int
    content_tag: str

    @classmethod
    def of(cls, headshot) -> EtagSource:
        # From the fields themselves, not the stored column: an unsaved change must change the tag too.
        return cls(headshot.pk, headshot_content_tag(headshot))


# The same values straight from the database: a page of ETags without loading models or decoding JSON.
ETAG_SOURCE_COLUMNS = ("id", "content_tag")


def delivery_etag(headshot, *, size: int | None = None, square: bool = False, fmt: str = "JPEG",
                  max_bytes: int | None = None, min_size: int | None = None) -> str:
    """The ETag render_headshot would give, without opening any image (for If-None-Match -> 304).

    Stored files are never rewritten (new results get new names), so their names identify the content.
    """
    etag = delivery_etag_function(size=size, square=square, fmt=fmt, max_bytes=max_bytes, min_size=min_size)
    return etag(EtagSource.of(headshot))


def delivery_etag_function(*, size: int | None = None, square: bool = False, fmt: str = "JPEG",
                           max_bytes: int | None = None, min_size: int | None = None
                           ) -> Callable[[EtagSource], str]:
    """delivery_etag for many headshots with the same options: what they share is serialized once, so each row
    costs one short SHA-256 (a 100-row page of the pull API makes 100 of them)."""
    signer = c2pa_signing.signer_identity()
    # Everything else a rendition depends on: the options, the label's version (it also names the AI system from
    # the backend the content tag covers) and the C2PA signer.
    shared = json.dumps({"options": _options(size, square, fmt, max_bytes, min_size), "label": LABEL_VERSION,
                         "c2pa": signer}, sort_keys=True, default=str)
    # c2pa-rs salts every assertion hash at random, so two signed renders differ byte-wise (same pixels, same
    # claims): the tag is then weak, as HTTP asks of equivalent but not identical bytes.
    opening, closing = ('W/"', '"') if signer else ('"', '"')

    def etag(source: EtagSource) -> str:
        digest = hashlib.sha256(f"{source.pk}:{source.content_tag}:{shared}".encode()).hexdigest()
        return opening + digest + closing

    return etag


def render_headshot(headshot, *, size: int | None = None, square: bool = False, fmt: str = "JPEG",
                    max_bytes: int | None = None, min_size: int | None = None) -> Delivered:
    """The headshot as one destination wants it, labelled as AI-generated.

    size: the long edge (the side when square) in pixels; None keeps the master's. Never upscales.
    square: centre the crop on the face when the framing is known, else a top-weighted crop of a portrait.
    max_bytes: lower the JPEG/WebP quality step by step, then the size, until the file fits.
    min_size: refuse (ValueError) when the master can't give at least that many pixels (the side when square).
    """
    options = _options(size, square, fmt, max_bytes, min_size)
    fmt = options["fmt"]
    master_w, master_h = headshot.width, headshot.height
    available = min(master_w, master_h) if square else max(master_w, master_h)
    if min_size is not None and available < min_size:
        raise ValueError(f"This headshot is {master_w}x{master_h} px; the destination needs at least {min_size} px"
                         f"{' on each side of a square' if square else ' on the long edge'}.")
    target = available if size is None else min(size, available)
    # No size asked: the full-size image, so the lossless master; else the cheapest file that has enough pixels.
    image = _open_source(headshot, headshot.file.name if size is None else _source_name(headshot, target, square))
    if square:
        image = _square_crop(image, _face_centre(headshot))
    image = _fit(image, target)
    xmp = ai_label_xmp(ai_system=_ai_system(headshot))
    floor = max(min_size or 1, _SMALLEST_SIDE)
    budget = None if max_bytes is None else max_bytes - c2pa_signing.reserve_bytes()
    for _ in range(3):
        encoded, image_out = _encode_within(image, fmt, xmp, budget, floor, max_bytes)
        data = c2pa_signing.sign_if_configured(encoded, fmt)
        if max_bytes is None or len(data) <= max_bytes:
            break
        budget -= len(data) - max_bytes + 1024  # the manifest was bigger than reserved: leave it more room
    else:
        raise ValueError(f"Cannot fit this headshot in {max_bytes} bytes as {fmt} with its Content Credentials.")
    image = image_out
    return Delivered(data=data, content_type=FORMATS[fmt], width=image.width, height=image.height, format=fmt,
                     etag=delivery_etag(headshot, **options))


def _source_name(headshot, target: int, square: bool) -> str:
    """The smallest stored rendition that still gives `target` pixels, else the master (renditions are keyed by
    width)."""
    candidates = []
    for width, name in headshot.renditions.items():
        w = int(width)
        h = max(1, round(headshot.height * w / headshot.width))
        usable = min(w, h) if square else max(w, h)
        if usable >= target:
            candidates.append((usable, name))
    return min(candidates)[1] if candidates else headshot.file.name


def _open_source(headshot, name: str) -> Image.Image:
    with headshot.file.storage.open(name, "rb") as handle:
        with Image.open(handle) as opened:
            opened.load()
            icc = opened.info.get("icc_profile")
            image = opened.convert("RGB")
    if icc and icc != _SRGB_ICC:
        # Keep the colours right whatever profile the file carries: convert into sRGB, which is what we tag.
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source_profile, _SRGB, outputMode="RGB")
        except ImageCms.PyCMSError:
            pass
    # A fresh image: nothing from the source file's metadata (EXIF, text chunks, old XMP) comes along.
    return Image.frombytes("RGB", image.size, image.tobytes())


def _ai_system(headshot) -> str:
    """Which generator made it (IPTC AISystemUsed): the product and the inference backend the params record."""
    return _ai_system_from((headshot.variant_params or {}).get("backend"))


def _ai_system_from(backend) -> str:
    return f"{PRODUCT} ({backend} backend)" if isinstance(backend, str) and backend else PRODUCT


def _face_centre(headshot) -> tuple[float, float] | None:
    """The face's centre as fractions of the frame, from a stored face box or the framing the pipeline used."""
    params = headshot.variant_params or {}
    return _face_centre_from((headshot.qc or {}).get("face_box"), params.get("face_box"), params.get("framing"),
                             headshot.width, headshot.height)


def _face_centre_from(qc_box, params_box, framing, width, height) -> tuple[float, float] | None:
    for box in (qc_box, params_box):
        if isinstance(box, (list, tuple)) and len(box) == 4 and width and height:
            left, top, right, bottom = (float(v) for v in box)
            return (round((left + right) / 2 / width, 4), round((top + bottom) / 2 / height, 4))
    framing = framing if isinstance(framing, dict) else {}
    eye_line, head_height = framing.get("eye_line"), framing.get("head_height")
    if isinstance(eye_line, (int, float)) and isinstance(head_height, (int, float)):
        # The eyes sit on the frame's vertical centre line at eye_line; the head spans head_height of the frame.
        return 0.5, round(eye_line + (_CHIN_DROP - _BROW_RISE) / 2 * head_height, 4)
    return None


def _square_crop(image: Image.Image, face: tuple[float, float] | None) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    if face is not None:
        cx, cy = face[0] * width, face[1] * height
    else:
        cx = width / 2
        cy = side / 2 + (height - side) * _TOP_WEIGHT if height > width else height / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return image.crop((left, top, left + side, top + side))


def _fit(image: Image.Image, long_edge: int) -> Image.Image:
    width, height = image.size
    if max(width, height) <= long_edge:
        return image
    scale = long_edge / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, fmt: str, xmp: bytes, quality: int) -> bytes:
    buffer = io.BytesIO()
    params: dict[str, Any] = {"icc_profile": _SRGB_ICC, **xmp_save_params(fmt, xmp)}
    if fmt == "JPEG":
        params.update(quality=quality, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=quality, method=4)
    else:
        # zlib's default level: optimize=True (level 9 plus filter search) made a 1024x1280 master 4x slower to
        # encode (5.6 s against 1.4 s here) for 4% fewer bytes.
        params.update(compress_level=6)
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _encode_within(image: Image.Image, fmt: str, xmp: bytes, budget: int | None, floor: int,
                   max_bytes: int | None) -> tuple[bytes, Image.Image]:
    """The best encode within budget bytes: the first quality step that fits, at the largest size that can."""
    if budget is None:
        return _encode(image, fmt, xmp, JPEG_QUALITY), image
    qualities = (JPEG_QUALITY,) if fmt == "PNG" else _QUALITY_STEPS
    current = image
    smallest = None
    while True:
        for quality in qualities:
            data = _encode(current, fmt, xmp, quality)
            if len(data) <= budget:
                return data, current
            smallest = len(data)
        long_edge = int(max(current.size) * _SHRINK)
        if min(current.size) * _SHRINK < floor:
            raise ValueError(f"Cannot fit this headshot in {max_bytes} bytes as {fmt}: the smallest encode "
                             f"({current.width}x{current.height}) is {smallest} bytes.")
        current = _fit(image, long_edge)
