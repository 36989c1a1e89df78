"""HeadshotPipeline: the studio backend end to end, from selfie bytes to QC'd headshots; what a Ray actor holds."""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .brand import BrandSpec, BrandSpecError, Framing, Retouch
from .errors import IngestError, InputError
from .face_detect import SAME_PERSON_DISTANCE, Face, FaceAnalyzer, identity_distance, prominent_faces
from .face_mesh import FaceMesh, FaceMesher
from .finishing import Finisher, LookInput, SubjectInput
from .framing import FramingPlan
from .identity import IdentityProfile, distance_to_profile, profile_from_embeddings
from .ingest import DecodedImage, IngestLimits, decode_image
from .matting import DEFAULT_MODEL_PATH, load_portrait_matter
from .near_duplicate import ImagePrint, image_print, same_image
from .output_qc import (
    FaceTone,
    OutputQCInput,
    QCLimits,
    SkinReference,
    assess_output,
    clipped_fractions,
    face_sharpness,
    face_tone,
    skin_reference,
)
from .ranking import RankingModel, rank_entries
from .renditions import encode_master_png, make_renditions
from .request import (
    DoneHeadshot,
    GenerationEvent,
    GenerationInput,
    GenerationOutput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    HeadshotRank,
    SelfieInput,
    SelfieVerdict,
)
from .segmentation import PersonSegmenter
from .selfie_qc import SelfieMetrics, face_mesh_on_face, measure_selfie, photo_reasons
from .selfie_set import SetItem, SetJudgement, judge_set
from .streaming import collect_output
from .variants import (
    FramingFit,
    SourceSelfie,
    VariantSpec,
    adjust_variant,
    fills_framing,
    framing_fit,
    make_variant,
    plan_variants,
)

logger = logging.getLogger(__name__)

BACKEND = "studio"
PIPELINE_VERSION = "0"
MAX_SELFIES = 30
# Eye-centre distance in the working image below which the face is too small: the frame would have to enlarge
# it more than ~4x (head height 0.42 of a 1280 px frame = 538 px = 3.8 x 28 x 5), and it would look soft.
MIN_EYE_DISTANCE_PX = 28.0
# How far (fraction of the face box width) the detected face may extend past the photo's edge.
MAX_FACE_OUTSIDE_FRACTION = 0.15
# The selfie quality limits (sharpness, noise, exposure, pose, eyes, duplicates, identity) live in selfie_qc.py
# and identity.py with their calibration. This one is only the scale of source_quality()'s sharpness term: the old
# gate on output_qc.face_sharpness() (128 px face crop), which every dev photo passes (80..1560).
MIN_FACE_SHARPNESS = 40.0

# One human sentence per reason, each with what to do about it. Ingest reasons carry their own messages.
REASON_MESSAGES: dict[str, str] = {
    "no_face": "We couldn't find a face. Take the photo facing the camera in good light.",
    "multiple_faces": "We found more than one person in this photo. Take it alone, with nobody else in the frame.",
    "face_too_small": "Your face is too small in this photo. Hold the camera closer so your head and shoulders fill "
                      "the frame.",
    "face_cut_off": "Your face is cut off at the edge of the photo. Keep your whole head inside the frame.",
    "too_blurry": "This photo is blurry. Hold the phone still, tap your face to focus, and take it again.",
    "too_dark": "Your face is too dark in this photo. Face a window or a lamp and take it again.",
    "too_bright": "Your face is overexposed in this photo. Move out of direct light and take it again.",
    "too_noisy": "This photo is grainy, as photos taken in dim light are. Move to a brighter spot and take it again.",
    "blown_highlights": "Part of your face is washed out to pure white. Move out of direct sun or turn off the flash, "
                        "and take it again.",
    "deep_shadows": "Part of your face is lost in deep shadow. Face the light so it falls evenly on your face, and "
                    "take it again.",
    "face_obscured": "We couldn't see your whole face clearly. Face the camera with nothing covering your face (no "
                     "mask, hand or hair), and take it again.",
    "face_covered": "Something covers part of your face — a microphone, hand or phone. Upload one where nothing is in "
                    "front of you.",
    "cut_off_below_chin": "This photo is cut off just below your chin, so we would have to invent your shoulders. "
                          "Upload one that shows your neck and shoulders, with some space below them.",
    "microphone_below_face": "There is a microphone in front of your chest, just below your face, and your headshots "
                             "will show it. For headshots without it, upload a photo with nothing in front of you.",
    "microphone_framed_out": "There is a microphone in front of your chest, so we frame the headshots from this photo "
                             "close to keep it out. For other framings, upload a photo with nothing in front of you.",
    "head_turned": "Your head is turned to the side. Look straight into the camera and take it again.",
    "chin_up": "Your chin is raised (or the camera is below you). Hold the camera at eye level, keep your chin level, "
               "and take it again.",
    "chin_down": "Your chin is lowered (or the camera is above you). Hold the camera at eye level, keep your chin "
                 "level, and take it again.",
    "head_tilted": "Your head is tilted to one side. Keep your head straight and the phone upright, and take it again.",
    "eyes_closed": "Your eyes look closed in this photo. Keep both eyes open and take it again.",
    "eyes_not_visible": "We couldn't see both of your eyes. Take off sunglasses, move hair away from your eyes, and "
                        "take it again.",
    "duplicate": "This photo is almost the same as another one you uploaded, so we kept the sharper one. For the best "
                 "results, vary your expression, angle or outfit between photos.",
    "different_person": "This photo doesn't look like the same person as your other photos. Upload only photos of "
                        "yourself.",
    "identity_unclear": "Your photos look like different people, so we can't tell which ones are you. Upload at least "
                        "three photos of yourself alone.",
    "processing_failed": "Something went wrong while processing this photo. Try another photo; if it happens again, "
                         "contact support.",
}


def photo_warnings(metrics: SelfieMetrics, fit: FramingFit) -> list[str]:
    """Codes (REASON_MESSAGES) of what an accepted photo brings into its headshots, or what framing does about it:
    kept in the verdict's metrics["warnings"], shown with the stored selfie, recorded in the headshots made from it.
    `fit` is the photo's framing_fit() for the default brand framing (a kit's own framing may differ a little)."""
    if not metrics.chest_object:
        return []
    return ["microphone_framed_out"] if fit.object_kept_out else ["microphone_below_face"]


def _offered(fit: FramingFit, offered: tuple[str, ...]) -> tuple[str, ...]:
    """The styles a selfie fills (and a grid style it doesn't fill is never planned) that the kit offers."""
    kept = tuple(style for style in offered if style not in fit.extensions or style in fit.styles)
    return kept or (min(offered, key=lambda style: fit.extensions.get(style, 0.0)),)


def _keep_out_below(metrics: SelfieMetrics | None) -> float | None:
    return metrics.chest_object_top if metrics is not None and metrics.chest_object else None


@dataclass(frozen=True)
class SelfieInspection:
    """A verdict plus what later stages reuse, so an accepted selfie is decoded and analysed only once."""

    verdict: SelfieVerdict
    image: DecodedImage | None = None
    face: Face | None = None
    embedding: np.ndarray | None = None
    # The face mesh selfie QC measured (in image.rgb's coordinates), None when not found or not measured.
    mesh: FaceMesh | None = None
    metrics: SelfieMetrics | None = None


@dataclass(frozen=True)
class SetInspection:
    """Every selfie's inspection after the set-level checks too (near-duplicates, one person throughout)."""

    # In input order; a set-level rejection turns accepted=False and adds its reason to the verdict.
    inspections: tuple[SelfieInspection, ...]
    # The identity profile of the accepted selfies; None when none is accepted or they don't agree on a person.
    profile: IdentityProfile | None = None
    judgement: SetJudgement | None = None

    @property
    def accepted(self) -> tuple[SelfieInspection, ...]:
        return tuple(item for item in self.inspections if item.verdict.accepted)

    @property
    def verdicts(self) -> tuple[SelfieVerdict, ...]:
        return tuple(item.verdict for item in self.inspections)


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
    try:
        RankingModel.from_dict(request.ranking)
    except ValueError as exc:
        raise InputError(f"ranking is invalid: {exc}") from None
    for name, other in dict(request.other_profiles or {}).items():
        try:
            _profile_vector(other)
        except (ValueError, TypeError, KeyError):
            raise InputError(f"other_profiles[{name!r}] must be a 128-d embedding or an IdentityProfile dict") from None
    for position, done in enumerate(request.done):
        if not isinstance(done, DoneHeadshot):
            raise InputError(f"done[{position}] must be a DoneHeadshot, got {type(done).__name__}")
    for position, params in enumerate(request.reproduce):
        try:
            spec = VariantSpec.from_params(dict(params), request.brand)
        except (ValueError, TypeError) as exc:
            raise InputError(f"reproduce[{position}] is invalid: {exc}") from None
        if spec.source not in names:
            raise InputError(f"reproduce[{position}] names selfie {spec.source!r}, which is not in this request")


class HeadshotPipeline:
    """Loads every model once in __init__; inspect_selfie() and run() are then safe to call many times."""

    def __init__(
        self,
        *,
        limits: IngestLimits | None = None,
        min_eye_distance_px: float = MIN_EYE_DISTANCE_PX,
        identity_threshold: float = SAME_PERSON_DISTANCE,
        opencv_threads: int | None = 1,
        qc_limits: QCLimits | None = None,
        portrait_matte_model: str | Path | None = DEFAULT_MODEL_PATH,
    ) -> None:
        if opencv_threads is not None:
            # OpenCV's own pool fights the actor's other work (and the hidden load) for the same cores.
            cv2.setNumThreads(opencv_threads)
        self.limits = limits or IngestLimits()
        self.min_eye_distance_px = min_eye_distance_px
        self.identity_threshold = identity_threshold
        self.faces = FaceAnalyzer()
        # MODNet's portrait matte when its file is there (a wrong file is an error here, at start); else mediapipe.
        self.segmenter = PersonSegmenter(load_portrait_matter(portrait_matte_model))
        # Output QC bounds; the identity bound follows identity_threshold unless limits are given.
        self.qc_limits = qc_limits or QCLimits(identity=identity_threshold)
        # One face-mesh model serves selfie QC and finishing.
        self.mesher = FaceMesher()
        self.finisher = Finisher(segmenter=self.segmenter, mesher=self.mesher)
        # Milliseconds per generation stage of the last run() (prepare, render, qc, encode, ...), for benchmarks.
        self.last_timings: dict[str, list[float]] = {}

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
        mesh = face_mesh_on_face(self._selfie_mesher(), image.rgb, face)
        metrics = measure_selfie(image.rgb, face, mesh)
        quality = self._quality_reasons(metrics)
        if quality:
            verdict = SelfieVerdict(
                name=selfie.name, accepted=False, reasons=quality,
                messages=tuple(REASON_MESSAGES[reason] for reason in quality), metrics=metrics.as_dict(), **size,
            )
            return SelfieInspection(verdict, image, face, mesh=mesh, metrics=metrics)
        # A photo cut off just below the chin can't fill even a close-up without painting a smear of invented body
        # into the frame's bottom corners (framing_fit is geometry only; the brand's styles are chosen at planning).
        fit = framing_fit(face, image.width, image.height, Framing(), keep_out_below=_keep_out_below(metrics))
        measured = {**metrics.as_dict(), "bottom_extension_tightest": round(fit.tightest, 4),
                    "warnings": photo_warnings(metrics, fit)}
        # The embedding (~80 ms) is only paid for a photo whose face passed every check (a photo refused only for
        # its crop still shows who the person is).
        embedding = self.faces.embed(image.rgb, face)
        if fit.refused:
            verdict = SelfieVerdict(
                name=selfie.name, accepted=False, reasons=("cut_off_below_chin",),
                messages=(REASON_MESSAGES["cut_off_below_chin"],), metrics=measured, **size,
            )
            return SelfieInspection(verdict, image, face, embedding, mesh=mesh, metrics=metrics)
        verdict = SelfieVerdict(
            name=selfie.name, accepted=True, embedding=tuple(float(v) for v in embedding),
            metrics=measured, **size,
        )
        return SelfieInspection(verdict, image, face, embedding, mesh=mesh, metrics=metrics)

    @staticmethod
    def _quality_reasons(metrics: SelfieMetrics) -> tuple[str, ...]:
        return photo_reasons(metrics)

    def inspect_set(self, selfies: tuple[SelfieInput, ...] | list[SelfieInput]) -> SetInspection:
        """Every photo's own checks, then the set's (selfie_qc.judge_set): of near-duplicates only the sharpest
        stays, and a photo of someone else than the person most photos show is rejected ("different_person"; with
        no clear majority, "identity_unclear"). Names must be unique, as check_inputs() requires."""
        inspections = [self.inspect(selfie) for selfie in selfies]
        candidates = [item for item in inspections if item.verdict.accepted and item.embedding is not None]
        if not candidates:
            return SetInspection(tuple(inspections))
        judgement = judge_set([
            SetItem(item.verdict.name, item.verdict.embedding, item.verdict.metrics["phash"],
                    item.verdict.metrics["sharpness"])
            for item in candidates
        ])
        judged = []
        for item in inspections:
            name = item.verdict.name
            if name in judgement.reasons:
                extra: dict[str, Any] = {}
                if name in judgement.identity_distances:
                    extra["identity_distance"] = round(judgement.identity_distances[name], 4)
                if name in judgement.duplicate_of:
                    extra["duplicate_of"] = judgement.duplicate_of[name]
                codes = judgement.reasons[name]
                item = dataclasses.replace(item, verdict=dataclasses.replace(
                    item.verdict, accepted=not codes, reasons=item.verdict.reasons + codes,
                    messages=item.verdict.messages + tuple(REASON_MESSAGES[code] for code in codes),
                    metrics={**item.verdict.metrics, **extra},
                ))
            judged.append(item)
        return SetInspection(tuple(judged), judgement.profile, judgement)

    def _selfie_mesher(self) -> FaceMesher:
        return self.mesher

    # -- generation ------------------------------------------------------------------------------------------

    def run(self, request: GenerationInput) -> GenerationOutput:
        """Ranked, QC'd variants (brand.variants_per_person) of the person in the accepted selfies.

        Rejected selfies only get their verdicts; with no usable selfie it returns the verdicts and no headshots,
        and the caller decides what that means. A variant that fails output QC is regenerated with adjusted
        parameters up to brand.regeneration_tries times; every rejected attempt is recorded in qc["attempts"].
        """
        return collect_output(self.stream(request))

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """run() as it happens: the selfie verdicts and the plan, each headshot as soon as it is made (unranked),
        then the ranks of the whole set. Variants named in request.done are not made again, only ranked."""
        check_inputs(request)
        inspections = list(self.inspect_set(request.selfies).inspections)
        usable = [item for item in inspections if item.verdict.accepted and item.embedding is not None]
        verdicts = {item.verdict.name: item.verdict for item in inspections}
        if not usable:
            yield GenerationPlan(selfies=tuple(verdicts.values()), planned=())
            yield GenerationRanking(selfies=tuple(verdicts.values()), ranks=())
            return
        person = _PersonRun(self, request, inspections, usable)
        yield GenerationPlan(selfies=tuple(verdicts.values()), planned=tuple(spec.name for spec in person.specs))
        yield from person.generate()
        self.last_timings = dict(person.timings)
        for name in person.failed_sources:
            verdict = verdicts[name]
            verdicts[name] = _rejected(name, "processing_failed", width=verdict.width, height=verdict.height)
        yield GenerationRanking(selfies=tuple(verdicts.values()), ranks=person.ranks(), dropped=tuple(person.dropped))

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


# Weights of the source-selfie ranking (which selfies the variants are made from): closeness to the person's
# identity profile matters most (the most typical photo of them), then face sharpness, then a frontal pose.
_SOURCE_IDENTITY_WEIGHT = 2.0
_SOURCE_SHARPNESS_WEIGHT = 0.3
_SOURCE_YAW_WEIGHT = 0.5
# Prepared subjects kept at once: variants come grouped by prepare key, so only regeneration revisits older ones.
_PREPARED_CACHE = 4


def source_quality(item: SelfieInspection, profile: np.ndarray) -> dict[str, float]:
    """How good a source an accepted selfie is (higher = better), with the numbers behind it."""
    if item.image is None or item.face is None or item.embedding is None:
        raise ValueError("source_quality() needs an accepted inspection")
    distance = identity_distance(item.embedding, profile)
    sharpness = face_sharpness(item.image.rgb, item.face.box)
    (lx, ly), (rx, ry) = item.face.left_eye, item.face.right_eye
    eye_distance = max(item.face.eye_distance, 1e-6)
    mx, my = item.face.eye_midpoint
    nx, ny = item.face.nose
    # Yaw proxy: the nose base's offset along the eye line from the eye midpoint, in eye distances (0 = frontal).
    yaw = ((nx - mx) * (rx - lx) + (ny - my) * (ry - ly)) / eye_distance ** 2
    score = (-_SOURCE_IDENTITY_WEIGHT * distance
             + _SOURCE_SHARPNESS_WEIGHT * math.log10(max(sharpness, 1.0) / MIN_FACE_SHARPNESS)
             - _SOURCE_YAW_WEIGHT * abs(yaw))
    return {"score": round(score, 4), "identity_distance": round(distance, 4), "sharpness": round(sharpness, 2),
            "yaw_offset": round(yaw, 4)}


@dataclass
class _Rendered:
    rgb: np.ndarray
    matte: np.ndarray
    plan: FramingPlan
    params: dict[str, Any]
    halo_score: float | None
    # The global exposure gain (stops) finishing applied to the selfie; None when none was applied.
    exposure_gain_ev: float | None = None


class _SourceFailed(Exception):
    """Preparing a selfie crashed: that selfie is rejected (processing_failed) and its variants move elsewhere."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.source = source


class _PersonRun:
    """One person's generation: plan variants, prepare once per (selfie, framing, retouch), render, QC, regenerate,
    rank."""

    def __init__(self, pipeline: HeadshotPipeline, request: GenerationInput, inspections: list[SelfieInspection],
                 usable: list[SelfieInspection]) -> None:
        self.pipeline = pipeline
        self.request = request
        self.brand = request.brand
        self.items = {item.verdict.name: item for item in usable}
        positions = {item.verdict.name: i for i, item in enumerate(inspections)}
        # The identity profile: the robust centre (identity.py) of every accepted selfie of this employee.
        self.identity = profile_from_embeddings([item.embedding for item in usable],
                                                [item.verdict.name for item in usable])
        self.profile = np.asarray(self.identity.centre, dtype=np.float64)
        self.others = {name: _profile_vector(v) for name, v in dict(request.other_profiles).items()}
        self.source_scores = {item.verdict.name: source_quality(item, self.profile) for item in usable}
        ranked = sorted(usable, key=lambda item: (-self.source_scores[item.verdict.name]["score"],
                                                  positions[item.verdict.name]))
        self.sources = [SourceSelfie(item.verdict.name, positions[item.verdict.name]) for item in ranked]
        self.failed_sources: list[str] = []
        self.timings: dict[str, list[float]] = defaultdict(list)
        self._prepared: OrderedDict[tuple, Any] = OrderedDict()
        self._skin: dict[str, SkinReference | None] = {}
        self._tone: dict[str, FaceTone | None] = {}
        # Every delivered image of this person (variant name, print), and what was not delivered and why.
        self._delivered: list[tuple[str, ImagePrint]] = []
        self.dropped: list[dict[str, Any]] = []
        self._mattes: dict[str, np.ndarray | None] = {}
        # Per selfie, the brand framings it fills without inventing body below the photo (tighter ones preferred).
        # A microphone below the face is kept out of the frame where a fitting style ends above it.
        self.fits = {name: framing_fit(item.face, item.image.width, item.image.height, self.brand.framing,
                                       keep_out_below=_keep_out_below(item.metrics))
                     for name, item in self.items.items()}
        # Planned: the kit's own framings among them (when it offers none of them: the kit's that needs least).
        # Regeneration keeps to what the selfie fills (no "looser" head-and-shoulders from one that can't fill it).
        self._plan_styles = {name: _offered(fit, self.brand.variant_framings) for name, fit in self.fits.items()}
        self._styles_for = {name: tuple(dict.fromkeys(fit.styles + self._plan_styles[name]))
                            for name, fit in self.fits.items()}
        if request.reproduce:
            self.specs = tuple(VariantSpec.from_params(dict(p), self.brand) for p in request.reproduce)
            self.tries = 0  # a reproduction is exactly what was asked for, pass or fail
        else:
            self.specs = plan_variants(self.brand, self.sources, base_seed=request.seed, styles_for=self._plan_styles)
            self.tries = self.brand.regeneration_tries
        self.made: list[HeadshotOutput] = []

    # -- the loop --------------------------------------------------------------------------------------------

    def generate(self) -> Iterator[HeadshotOutput]:
        """Each planned variant as soon as it is made, unranked (ranks() orders the set at the end); variants an
        earlier attempt delivered (request.done) are skipped, and their names stay taken."""
        done = {headshot.requested_variant for headshot in self.request.done}
        taken = {spec.name for spec in self.specs} | {headshot.variant for headshot in self.request.done}
        for spec in self.specs:
            if spec.name in done:
                continue
            headshot = self._make_variant(spec, self.tries, taken)
            if headshot is not None:
                self.made.append(headshot)
                taken.add(headshot.variant)
                yield headshot

    def ranks(self) -> tuple[HeadshotRank, ...]:
        """The whole set ranked at once, this attempt's headshots and the earlier attempts' alike."""
        return self._ranked([*self.request.done, *self.made])

    def _make_variant(self, spec: VariantSpec, tries: int, taken: set[str]) -> HeadshotOutput | None:
        """Make one variant, regenerating it with adjusted parameters while it fails QC and tries are left."""
        attempts: list[dict[str, Any]] = []
        current: VariantSpec | None = spec
        seen: list[tuple[str, ImagePrint]] = []  # this variant's earlier tries
        fallback = None  # the last try that was a picture of its own, for when every later one is a copy
        while current is not None:
            try:
                rendered = self._render(current)
            except _SourceFailed as failure:
                self._drop_source(failure.source)
                current = self._retarget(current, taken)
                continue
            printed = image_print(rendered.rgb)
            copy_of = next((name for name, other in self._delivered + seen if same_image(printed, other)), None)
            if copy_of is not None:
                # The same picture as one delivered or tried already (QC would only repeat itself): never deliver
                # it twice; make it differently while tries are left.
                adjusted = None if len(attempts) >= tries else adjust_variant(
                    current, ["duplicate"], self.brand, self._live_sources(), tried=taken | {current.name},
                    styles_for=self._styles_for)
                attempts.append({"variant": current.name, "params": current.as_params(), "failures": ["duplicate"],
                                 "duplicate_of": copy_of, "scores": {},
                                 "change": None if adjusted is None else adjusted[1]})
                taken.add(current.name)
                if adjusted is None:
                    return self._deliver_fallback(spec, current, copy_of, fallback, attempts)
                current = adjusted[0]
                continue
            seen.append((current.name, printed))
            started = time.perf_counter()
            qc = assess_output(self.pipeline.faces, OutputQCInput(
                rgb=rendered.rgb, profile_embedding=self.profile,
                profile_distance=lambda embedding: distance_to_profile(embedding, self.identity),
                source_embedding=self.items[current.source].embedding, source_skin=self._source_skin(current.source),
                source_clipped=self._source_clipped(current.source), exposure_gain_ev=rendered.exposure_gain_ev,
                source_tone=self._source_tone(current.source),
                other_profiles=self.others, matte=rendered.matte, eye_line_target=rendered.plan.framing.eye_line,
                halo_score=rendered.halo_score,
            ), self.pipeline.qc_limits)
            self._time("output_qc", started)
            last = len(attempts) >= tries
            if qc.passed or last:
                return self._output(spec, current, rendered, qc, attempts)
            adjusted = adjust_variant(current, qc.failures, self.brand, self._live_sources(),
                                      tried=taken | {current.name}, styles_for=self._styles_for)
            attempts.append({
                "variant": current.name, "params": current.as_params(), "failures": list(qc.failures),
                "scores": {k: v for k, v in qc.scores.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool)},
                "change": None if adjusted is None else adjusted[1],
            })
            if adjusted is None:  # nothing left to change: deliver the last attempt, failed and explained
                attempts.pop()
                return self._output(spec, current, rendered, qc, attempts, exhausted=True)
            fallback = (current, rendered, qc, len(attempts) - 1)
            taken.add(current.name)
            current = adjusted[0]
        return None

    def _deliver_fallback(self, requested: VariantSpec, copy: VariantSpec, copy_of: str, fallback,
                          attempts: list[dict]) -> HeadshotOutput | None:
        """Tries ran out on a copy: deliver the last try that was a picture of its own (failed QC, explained), or
        drop the variant with the reason recorded."""
        if fallback is not None:
            spec, rendered, qc, position = fallback
            return self._output(requested, spec, rendered, qc, attempts[:position] + attempts[position + 1:],
                                exhausted=True)
        self.dropped.append({"requested_variant": requested.name, "variant": copy.name, "reason": "duplicate",
                             "duplicate_of": copy_of, "attempts": attempts})
        logger.info("variant %s dropped: the same image as %s", requested.name, copy_of)
        return None

    def _output(self, requested: VariantSpec, spec: VariantSpec, rendered: _Rendered, qc, attempts: list[dict],
                *, exhausted: bool = False) -> HeadshotOutput:
        started = time.perf_counter()
        self._delivered.append((spec.name, image_print(rendered.rgb)))
        master = encode_master_png(rendered.rgb)
        renditions = make_renditions(rendered.rgb, self.brand.output_sizes)
        self._time("encode", started)
        data = dict(qc.scores)
        data.update({
            "passed": qc.passed,
            "failures": list(qc.failures),
            "requested_variant": requested.name,
            "regenerated": spec.name != requested.name,
            # Every rejected attempt before this output, with its parameters and why it was rejected; when the
            # output itself still failed, its own failures are in "failures" above.
            "attempts": attempts,
            "regeneration_exhausted": exhausted,
            "source_quality": self.source_scores[spec.source],
            "identity_profile": {"method": "geometric median of the accepted selfies (identity.py)",
                                 "count": self.identity.count, "spread": round(self.identity.spread, 4)},
        })
        return HeadshotOutput(
            source=spec.source, variant=spec.name, params=rendered.params, image=master, renditions=renditions,
            qc=data, passed=qc.passed,
            embedding=None if qc.embedding is None else tuple(float(v) for v in qc.embedding),
        )

    def _ranked(self, headshots: list[HeadshotOutput | DoneHeadshot]) -> tuple[HeadshotRank, ...]:
        model = RankingModel.from_dict(self.request.ranking)
        entries = [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed} for h in headshots]
        return tuple(
            HeadshotRank(variant=headshots[r.index].variant, rank=r.rank, score=r.score)
            for r in rank_entries(entries, model)
        )

    # -- sources ---------------------------------------------------------------------------------------------

    def _live_sources(self) -> list[SourceSelfie]:
        return [s for s in self.sources if s.name not in self.failed_sources]

    def _drop_source(self, name: str) -> None:
        if name not in self.failed_sources:
            self.failed_sources.append(name)
        for key in [key for key in self._prepared if key[0] == name]:
            del self._prepared[key]

    def _retarget(self, spec: VariantSpec, taken: set[str]) -> VariantSpec | None:
        """The same variant from another working selfie, if that one isn't made already."""
        for source in self._live_sources():
            candidate = make_variant(source, self.brand, framing_style=spec.framing_style, lighting=spec.lighting,
                                     background_index=spec.background_index,
                                     retouch_strength=spec.retouch_strength, base_seed=spec.base_seed)
            if candidate.name not in taken and fills_framing(candidate, self._styles_for):
                taken.add(candidate.name)
                return candidate
        return None

    def _source_clipped(self, name: str) -> tuple[float, float]:
        item = self.items[name]
        return clipped_fractions(item.image.rgb, item.face.box)

    def _source_tone(self, name: str) -> FaceTone | None:
        if name not in self._tone:
            item = self.items[name]
            self._tone[name] = face_tone(item.image.rgb, item.face)
        return self._tone[name]

    def _source_skin(self, name: str) -> SkinReference | None:
        if name not in self._skin:
            item = self.items[name]
            self._skin[name] = skin_reference(item.image.rgb, item.face)
        return self._skin[name]

    # -- prepare and render ----------------------------------------------------------------------------------

    def _render(self, spec: VariantSpec) -> _Rendered:
        brand = self.brand
        framing = spec.framing(brand)
        width = max(brand.output_sizes)
        size = (width, max(1, round(width / framing.aspect)))
        prepared = self._prepare(spec, framing, size)
        background = brand.backgrounds[spec.background_index]
        started = time.perf_counter()
        look = LookInput(background=background, lighting=spec.lighting, color_grade=brand.color_grade,
                         attire=brand.attire_color)
        finished = self.pipeline.finisher.render(prepared, look)
        rgb, matte, plan = finished.rgb, finished.matte, finished.plan
        finish_params, measurements = finished.params, finished.measurements
        halo = measurements.get("halo")
        self._time("render", started)
        params = self.pipeline._params(brand, plan, variant=spec.name, seed=spec.seed)
        params.update({
            "variant_spec": spec.as_params(),
            # The gallery groups by this: framing style + lighting, e.g. "Close-up, studio light".
            "look": spec.look,
            "framing_style": spec.framing_style,
            "lighting": spec.lighting,
            "background": background.kind,
            "background_index": spec.background_index,
            "background_spec": dataclasses.asdict(background),
            "retouch": {"strength": spec.retouch_strength, "min_texture_share": brand.retouch.min_texture_share},
            "finishing": finish_params,
            "finishing_measurements": measurements,
            # Why this selfie gets only some framings (None excluded: it fills them all).
            "framing_fit": self.fits[spec.source].as_params(),
            # What selfie QC saw that stays in the picture (e.g. a microphone below the face), with its tip.
            "source_warnings": list(self.items[spec.source].verdict.metrics.get("warnings", [])),
        })
        gain = measurements.get("face_luma_gain")
        return _Rendered(rgb=rgb, matte=matte, plan=plan, params=params,
                         halo_score=float(halo) if isinstance(halo, (int, float)) else None,
                         exposure_gain_ev=float(gain) if isinstance(gain, (int, float)) else None)

    def _prepare(self, spec: VariantSpec, framing, size: tuple[int, int]):
        key = spec.prepare_key
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        item = self.items[spec.source]
        started = time.perf_counter()
        try:
            retouch = Retouch(strength=spec.retouch_strength, min_texture_share=self.brand.retouch.min_texture_share)
            prepared = self.pipeline.finisher.prepare(SubjectInput(
                rgb=item.image.rgb, face=item.face, framing=framing, retouch=retouch, long_side=max(size),
                source_matte=self._selfie_matte(spec.source)))
        except Exception:  # one photo must never sink the others; the failure is logged with its traceback
            logger.exception("preparing selfie %r for variant %s failed", spec.source, spec.name)
            raise _SourceFailed(spec.source) from None
        self._time("prepare", started)
        self._prepared[key] = prepared
        while len(self._prepared) > _PREPARED_CACHE:
            self._prepared.popitem(last=False)
        return prepared

    def _selfie_matte(self, name: str) -> np.ndarray | None:
        """The selfie's MODNet matte, computed once for all its framings (None with mediapipe: per framing)."""
        if name not in self._mattes:
            started = time.perf_counter()
            item = self.items[name]
            self._mattes[name] = self.pipeline.finisher.selfie_matte(item.image.rgb, item.face)
            self._time("selfie_matte", started)
        return self._mattes[name]

    def _time(self, stage: str, started: float) -> None:
        self.timings[stage].append((time.perf_counter() - started) * 1000.0)


def _profile_vector(value: Any) -> np.ndarray:
    """A person's profile centre from a 128-d embedding or an IdentityProfile (or its as_dict())."""
    if isinstance(value, IdentityProfile):
        value = value.centre
    elif isinstance(value, dict):
        value = IdentityProfile.from_dict(value).centre
    vector = np.asarray(value, dtype=np.float64)
    if vector.shape != (128,) or not np.isfinite(vector).all():
        raise ValueError("a profile must be 128 finite numbers")
    return vector


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
