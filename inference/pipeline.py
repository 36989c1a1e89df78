"""HeadshotPipeline: the studio backend end to end, from selfie bytes to QC'd headshots; what a Ray actor holds."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .background import composite, estimate_foreground, render_background
from .brand import BrandSpec, BrandSpecError
from .color import grade_subject
from .errors import IngestError, InputError
from .face_detect import SAME_PERSON_DISTANCE, Face, FaceAnalyzer, prominent_faces
from .framing import FramingPlan, frame_portrait, frame_size, plan_framing
from .ingest import DecodedImage, IngestLimits, decode_image
from .output_qc import assess_headshot, face_brightness, face_sharpness
from .renditions import encode_master_png, make_renditions
from .request import GenerationInput, GenerationOutput, HeadshotOutput, SelfieInput, SelfieVerdict
from .segmentation import PersonSegmenter

logger = logging.getLogger(__name__)

BACKEND = "studio"
PIPELINE_VERSION = "0"
MAX_SELFIES = 30
# Eye-centre distance in the working image below which the face is too small: the frame would have to enlarge
# it more than ~4x (head height 0.42 of a 1280 px frame = 538 px = 3.8 x 28 x 5), and it would look soft.
MIN_EYE_DISTANCE_PX = 28.0
# How far (fraction of the face box width) the detected face may extend past the photo's edge.
MAX_FACE_OUTSIDE_FRACTION = 0.15
# Selfie quality limits on the face box, calibrated on ../shared/faces: every dev photo scores 80..1560 on
# face_sharpness() and 87..173 on face_brightness(); negatives/blurry_dark_face.jpg scores 20 and 48.
MIN_FACE_SHARPNESS = 40.0
MIN_FACE_BRIGHTNESS = 60.0
MAX_FACE_BRIGHTNESS = 225.0

# One human sentence per reason, each with what to do about it. Ingest reasons carry their own messages.
REASON_MESSAGES: dict[str, str] = {
    "no_face": "We couldn't find a face. Take the photo facing the camera in good light.",
    "multiple_faces": "We found more than one person in this photo. Take it alone, with nobody else in the frame.",
    "face_too_small": "Your face is too small in this photo. Hold the camera closer so your head and shoulders fill the frame.",
    "face_cut_off": "Your face is cut off at the edge of the photo. Keep your whole head inside the frame.",
    "too_blurry": "This photo is blurry. Hold the phone still, tap your face to focus, and take it again.",
    "too_dark": "Your face is too dark in this photo. Face a window or a lamp and take it again.",
    "too_bright": "Your face is overexposed in this photo. Move out of direct light and take it again.",
    "processing_failed": "Something went wrong while processing this photo. Try another photo; if it happens again, contact support.",
}


@dataclass(frozen=True)
class SelfieInspection:
    """A verdict plus what later stages reuse, so an accepted selfie is decoded and analysed only once."""

    verdict: SelfieVerdict
    image: DecodedImage | None = None
    face: Face | None = None
    embedding: np.ndarray | None = None


def check_inputs(request: GenerationInput) -> None:
    """Reject a malformed request up front, naming the field; bad photos are not errors here (see run())."""
    if not isinstance(request, GenerationInput):
        raise InputError(f"expected a GenerationInput, got {type(request).__name__}")
    if not isinstance(request.selfies, (tuple, list)) or not request.selfies:
        raise InputError("selfies must be a non-empty tuple of SelfieInput")
    if len(request.selfies) > MAX_SELFIES:
        raise InputError(f"selfies holds {len(request.selfies)} photos; at most {MAX_SELFIES} per run")
    names: set[str] = set()
    for position, selfie in enumerate(request.selfies):
        if not isinstance(selfie, SelfieInput):
            raise InputError(f"selfies[{position}] must be a SelfieInput, got {type(selfie).__name__}")
        if not isinstance(selfie.name, str) or not selfie.name:
            raise InputError(f"selfies[{position}].name must be a non-empty string")
        if selfie.name in names:
            raise InputError(f"selfies[{position}].name {selfie.name!r} is used twice; names must be unique")
        names.add(selfie.name)
        if not isinstance(selfie.data, (bytes, bytearray, memoryview)):
            raise InputError(f"selfies[{position}].data must be bytes, got {type(selfie.data).__name__}")
    if not isinstance(request.brand, BrandSpec):
        raise InputError(f"brand must be a BrandSpec, got {type(request.brand).__name__}")
    try:
        request.brand.check()
    except BrandSpecError as exc:
        raise InputError(f"brand is invalid: {exc}") from None
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed < 2**32:
        raise InputError("seed must be an integer from 0 to 2**32 - 1")


class HeadshotPipeline:
    """Loads every model once in __init__; inspect_selfie() and run() are then safe to call many times."""

    def __init__(
        self,
        *,
        limits: IngestLimits | None = None,
        min_eye_distance_px: float = MIN_EYE_DISTANCE_PX,
        identity_threshold: float = SAME_PERSON_DISTANCE,
        opencv_threads: int | None = 1,
    ) -> None:
        if opencv_threads is not None:
            # OpenCV's own pool fights the actor's other work (and the hidden load) for the same cores.
            cv2.setNumThreads(opencv_threads)
        self.limits = limits or IngestLimits()
        self.min_eye_distance_px = min_eye_distance_px
        self.identity_threshold = identity_threshold
        self.faces = FaceAnalyzer()
        self.segmenter = PersonSegmenter()

    def close(self) -> None:
        self.segmenter.close()

    # -- selfies ---------------------------------------------------------------------------------------------

    def inspect_selfie(self, selfie: SelfieInput) -> SelfieVerdict:
        """Accept or reject one photo, with reason codes and human messages; never raises for bad bytes."""
        return self.inspect(selfie).verdict

    def inspect(self, selfie: SelfieInput) -> SelfieInspection:
        """inspect_selfie() plus the decoded image, face and embedding that run() reuses."""
        try:
            return self._inspect(selfie)
        except Exception:  # a decoder or model bug on one odd file must not sink the employee's other photos
            logger.exception("inspecting selfie %r failed", selfie.name)
            return SelfieInspection(_rejected(selfie.name, "processing_failed"))

    def _inspect(self, selfie: SelfieInput) -> SelfieInspection:
        try:
            image = decode_image(bytes(selfie.data), self.limits)
        except IngestError as exc:
            return SelfieInspection(_rejected(selfie.name, exc.reason, exc.message))
        size = {"width": image.original_width, "height": image.original_height}
        people = prominent_faces(self.faces.detect(image.rgb))
        if not people:
            return SelfieInspection(_rejected(selfie.name, "no_face", **size), image)
        if len(people) > 1:
            return SelfieInspection(_rejected(selfie.name, "multiple_faces", **size), image)
        face = people[0]
        if face.eye_distance < self.min_eye_distance_px:
            return SelfieInspection(_rejected(selfie.name, "face_too_small", **size), image, face)
        if _fraction_outside(face, image.width, image.height) > MAX_FACE_OUTSIDE_FRACTION:
            return SelfieInspection(_rejected(selfie.name, "face_cut_off", **size), image, face)
        quality = self._quality_reasons(image.rgb, face)
        if quality:
            verdict = SelfieVerdict(
                name=selfie.name, accepted=False, reasons=quality,
                messages=tuple(REASON_MESSAGES[reason] for reason in quality), **size,
            )
            return SelfieInspection(verdict, image, face)
        embedding = self.faces.embed(image.rgb, face)
        verdict = SelfieVerdict(
            name=selfie.name, accepted=True, embedding=tuple(float(v) for v in embedding), **size
        )
        return SelfieInspection(verdict, image, face, embedding)

    @staticmethod
    def _quality_reasons(rgb: np.ndarray, face: Face) -> tuple[str, ...]:
        reasons = []
        if face_sharpness(rgb, face.box) < MIN_FACE_SHARPNESS:
            reasons.append("too_blurry")
        brightness = face_brightness(rgb, face.box)
        if brightness < MIN_FACE_BRIGHTNESS:
            reasons.append("too_dark")
        elif brightness > MAX_FACE_BRIGHTNESS:
            reasons.append("too_bright")
        return tuple(reasons)

    # -- generation ------------------------------------------------------------------------------------------

    def run(self, request: GenerationInput) -> GenerationOutput:
        """One headshot per accepted selfie and brand variant; rejected selfies only get their verdicts.

        With no usable selfie it returns the verdicts and no headshots; the caller decides what that means.
        """
        check_inputs(request)
        brand = request.brand
        inspections = [self.inspect(selfie) for selfie in request.selfies]
        usable = [item for item in inspections if item.verdict.accepted]
        if not usable:
            return GenerationOutput(selfies=tuple(item.verdict for item in inspections), headshots=())

        # The identity profile: the mean embedding of every accepted selfie of this employee.
        profile = np.mean([item.embedding for item in usable], axis=0)
        width, height = frame_size(brand)
        backdrop = render_background(brand.background, width, height)
        verdicts = {item.verdict.name: item.verdict for item in inspections}
        headshots: list[HeadshotOutput] = []
        for item in usable:
            name = item.verdict.name
            try:
                rgb, plan = self.compose(item, brand, backdrop)
                master = encode_master_png(rgb)
                renditions = make_renditions(rgb, brand.output_sizes)
                qc, embedding = assess_headshot(
                    self.faces, rgb, profile_embedding=profile, source_embedding=item.embedding,
                    threshold=self.identity_threshold,
                )
            except Exception:  # one photo must never sink the others; the failure is logged with its traceback
                logger.exception("headshot composition failed for selfie %r", name)
                verdicts[name] = _rejected(name, "processing_failed", width=item.verdict.width, height=item.verdict.height)
                continue
            qc_data = qc.as_dict()
            qc_data["eye_line_target"] = brand.framing.eye_line
            for variant in brand.variants:
                seed = request.seed + len(headshots)
                headshots.append(
                    HeadshotOutput(
                        source=name,
                        variant=variant,
                        params=self._params(brand, plan, variant=variant, seed=seed),
                        image=master,
                        renditions=renditions,
                        qc=dict(qc_data),
                        passed=qc.passed,
                        embedding=None if embedding is None else tuple(float(v) for v in embedding),
                    )
                )
        return GenerationOutput(
            selfies=tuple(verdicts[item.verdict.name] for item in inspections), headshots=tuple(headshots)
        )

    def compose(self, item: SelfieInspection, brand: BrandSpec, backdrop: np.ndarray) -> tuple[np.ndarray, FramingPlan]:
        """Matte, frame, grade and composite one accepted selfie onto the rendered brand backdrop."""
        if item.image is None or item.face is None:
            raise ValueError("compose() needs an accepted inspection")
        rgb = item.image.rgb
        height, width = backdrop.shape[:2]
        plan = plan_framing(item.face, brand.framing, (width, height))
        framed = frame_portrait(rgb, self.person_matte(rgb, item.face, plan), plan)
        person = estimate_foreground(framed.rgb, framed.matte)
        # Grading the subject before compositing keeps every backdrop pixel exactly the brand's colour.
        subject = grade_subject(person, brand.color_grade, brand.lighting)
        return composite(subject, framed.matte, backdrop), plan

    def person_matte(self, rgb: np.ndarray, face: Face, plan: FramingPlan) -> np.ndarray:
        """Matte of the whole photo, computed only on the part that lands in the frame.

        The model works at 256 px: on a head-and-shoulders crop that is several times more matte detail
        around the head than on a full-body photo, and the crop is what the model was trained on.
        """
        height, width = rgb.shape[:2]
        left, top, right, bottom = plan.source_region(width, height)
        matte = np.zeros((height, width), dtype=np.float32)
        if right - left < 2 or bottom - top < 2:
            return matte
        crop = rgb[top:bottom, left:right]
        matte[top:bottom, left:right] = self.segmenter.matte(crop, face.translated(-left, -top))
        return matte

    @staticmethod
    def _params(brand: BrandSpec, plan: FramingPlan, *, variant: str, seed: int) -> dict[str, Any]:
        return {
            "backend": BACKEND,
            "pipeline_version": PIPELINE_VERSION,
            "seed": seed,
            "variant": variant,
            "brand": {"name": brand.name, "version": brand.version},
            "framing": plan.as_params(),
            "background": brand.background.kind,
            "lighting": brand.lighting,
            "color_grade": {
                "temperature": brand.color_grade.temperature,
                "saturation": brand.color_grade.saturation,
                "contrast": brand.color_grade.contrast,
            },
            "attire": brand.attire,
            "output_sizes": list(brand.output_sizes),
        }


def _rejected(name: str, reason: str, message: str | None = None, *, width: int | None = None,
              height: int | None = None) -> SelfieVerdict:
    return SelfieVerdict(
        name=name, accepted=False, reasons=(reason,), messages=(message or REASON_MESSAGES[reason],),
        width=width, height=height,
    )


def _fraction_outside(face: Face, width: int, height: int) -> float:
    """Largest overhang of the face box past any photo edge, as a fraction of the box width."""
    left, top, right, bottom = face.box
    overhang = max(-left, -top, right - width, bottom - height, 0.0)
    return overhang / max(face.width, 1.0) if math.isfinite(overhang) else 0.0
