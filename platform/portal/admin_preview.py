"""Brand kit preview: a bundled public-domain sample face through the real studio pipeline, small, cached by spec.

The JPEG is kept in default_storage under sha256(spec JSON + sample name), so the same spec is rendered once and
then served from storage. The pipeline is loaded once per web process (about 3 s) and renders one at a time.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from inference.brand import BrandSpec
from inference.request import GenerationInput, SelfieInput

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "selfies"
PREVIEW_SAMPLE = "grace_hopper/grace_hopper.jpg"
PREVIEW_WIDTH = 384
CACHE_FOLDER = "brand-previews"

_pipeline = None
_lock = threading.Lock()


class PreviewError(Exception):
    pass


def _get_pipeline():
    global _pipeline
    if _pipeline is None:
        # lazy: the studio pipeline pulls in OpenCV, ONNX runtime and its models; only the preview needs it
        from inference.pipeline import HeadshotPipeline

        _pipeline = HeadshotPipeline(portrait_matte_model=settings.PORTRAIT_MATTE_MODEL or None)
    return _pipeline


def preview_spec(spec: BrandSpec) -> BrandSpec:
    """One variant of the kit's main look: first framing, the kit's lighting and background, one size, studio."""
    return dataclasses.replace(
        spec, name="preview", version=1, variants_per_person=1, output_sizes=(PREVIEW_WIDTH,), regeneration_tries=0,
        variant_sources=1, extra_backgrounds=(), variant_framings=spec.variant_framings[:1],
        variant_lightings=(spec.lighting,), backend="studio").check()


def preview_key(spec: BrandSpec, sample: str = PREVIEW_SAMPLE) -> str:
    data = spec.to_dict()
    for background in (data["background"], *data["extra_backgrounds"]):
        if background.get("image_path"):
            # The image's content, not where it lies, decides what the preview looks like.
            background["image_path"] = hashlib.sha256(Path(background["image_path"]).read_bytes()).hexdigest()
    text = json.dumps({"spec": data, "sample": sample}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cache_name(key: str) -> str:
    return f"{CACHE_FOLDER}/{key[:2]}/{key}.jpg"


def brand_preview(spec: BrandSpec, sample: str = PREVIEW_SAMPLE) -> tuple[bytes, bool]:
    """(JPEG bytes, whether they came from the cache) for this spec on the sample face."""
    spec = preview_spec(spec)
    name = cache_name(preview_key(spec, sample))
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return handle.read(), True
    selfie = SelfieInput(name=Path(sample).name, data=(SAMPLES / sample).read_bytes())
    with _lock:
        output = _get_pipeline().run(GenerationInput(selfies=(selfie,), brand=spec, seed=0))
    if not output.headshots:
        raise PreviewError("The sample photo could not be rendered with these settings.")
    rendition = next((r for r in output.headshots[0].renditions if r.format.upper() == "JPEG"), None)
    if rendition is None:
        raise PreviewError("The pipeline made no JPEG rendition.")
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(rendition.data))
    return rendition.data, False
