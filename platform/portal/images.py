"""Small upright JPEGs of stored selfies for the portals' pages, decoded the way uploads are (inference.ingest).

A selfie was checked when it was uploaded, but its file can still be gone or damaged since: the page then gets a
clear 404 ("This photo can't be shown"), never a server error.
"""
from __future__ import annotations

import io

from django.http import Http404
from django.utils.translation import gettext as _
from PIL import Image

from inference.errors import IngestError
from inference.ingest import IngestLimits, decode_image
from teams.models import Selfie


def selfie_jpeg(selfie: Selfie, *, side: int, quality: int) -> bytes:
    """The selfie turned upright, in sRGB, at most `side` pixels on its long side, as JPEG bytes (HEIC included,
    which browsers can't show). Http404 when its file is missing or can't be decoded."""
    try:
        with selfie.file.open("rb") as handle:
            data = handle.read()
        decoded = decode_image(data, IngestLimits(min_side=1, working_long_side=side))
    except (OSError, ValueError, IngestError):  # ValueError: a row whose file field is empty
        raise Http404(_("This photo can't be shown.")) from None
    buffer = io.BytesIO()
    Image.fromarray(decoded.rgb).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
