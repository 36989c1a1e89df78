"""Selfie inspection: each photo's own checks, then the set's (near-duplicates, one person throughout), and how good a
source each accepted photo is. The verdicts carry the human messages (messages.py); the decoded image, face, mesh
and embedding stay with them for generation, so an accepted selfie is decoded and analysed only once."""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .brand import Framing
from .errors import IngestError
from .face_detect import Face, FaceAnalyzer, identity_distance, prominent_faces
from .face_mesh import FaceMesh, FaceMesher
from .identity import IdentityProfile
from .ingest import DecodedImage, IngestLimits, decode_image
from .messages import REASON_MESSAGES, rejected
from .output_qc import face_sharpness
from .request import SelfieInput, SelfieVerdict
from .selfie_qc import SelfieMetrics, face_mesh_on_face, measure_selfie, photo_reasons
from .selfie_set import SetItem, SetJudgement, judge_set
from .variants import FramingFit, framing_fit

logger = logging.getLogger(__name__)

# Eye-centre distance in the working image below which the face is too small: the frame would have to enlarge
# it more than ~4x (head height 0.42 of a 1280 px frame = 538 px = 3.8 x 28 x 5), and it would look soft.
MIN_EYE_DISTANCE_PX = 28.0
# How far (fraction of the face box width) the detected face may extend past the photo's edge.
MAX_FACE_OUTSIDE_FRACTION = 0.15
# The selfie quality limits (sharpness, noise, exposure, pose, eyes, duplicates, identity) live in selfie_qc.py
# and identity.py with their calibration. This one is only the scale of source_quality()'s sharpness term: the old
# gate on output_qc.face_sharpness() (128 px face crop), which every dev photo passes (80..1560).
MIN_FACE_SHARPNESS = 40.0

# Weights of the source-selfie ranking (which selfies the variants are made from): closeness to the person's
# identity profile matters most (the most typical photo of them), then face sharpness, then a frontal pose.
_SOURCE_IDENTITY_WEIGHT = 2.0
_SOURCE_SHARPNESS_WEIGHT = 0.3
_SOURCE_YAW_WEIGHT = 0.5


def photo_warnings(metrics: SelfieMetrics, fit: FramingFit) -> list[str]:
    """Codes (REASON_MESSAGES) of what an accepted photo brings into its headshots, or what framing does about it:
    kept in the verdict's metrics["warnings"], shown with the stored selfie, recorded in the headshots made from it.
    `fit` is the photo's framing_fit() for the default brand framing (a kit's own framing may differ a little)."""
    if not metrics.chest_object:
        return []
    return ["microphone_framed_out"] if fit.object_kept_out else ["microphone_below_face"]


def keep_out_below(metrics: SelfieMetrics | None) -> float | None:
    """The photo row where an object in front of the chest (a microphone) begins, for framing_fit() to keep it out;
    None when there is none."""
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
    def usable(self) -> tuple[SelfieInspection, ...]:
        """The accepted selfies with a face embedding: what generation is made from."""
        return tuple(item for item in self.inspections if item.verdict.accepted and item.embedding is not None)

    @property
    def verdicts(self) -> tuple[SelfieVerdict, ...]:
        return tuple(item.verdict for item in self.inspections)


class SelfieInspector:
    """Selfie QC with the studio's face models (loaded by the caller, shared with generation)."""

    def __init__(self, faces: FaceAnalyzer, mesher: FaceMesher, *, limits: IngestLimits | None = None,
                 min_eye_distance_px: float = MIN_EYE_DISTANCE_PX) -> None:
        self.faces = faces
        self.mesher = mesher
        self.limits = limits or IngestLimits()
        self.min_eye_distance_px = min_eye_distance_px

    def inspect_selfie(self, selfie: SelfieInput) -> SelfieVerdict:
        """Accept or reject one photo, with reason codes and human messages; never raises for bad bytes."""
        return self.inspect(selfie).verdict

    def inspect(self, selfie: SelfieInput) -> SelfieInspection:
        """inspect_selfie() plus the decoded image, face and embedding that generation reuses."""
        try:
            return self._inspect(selfie)
        except Exception:  # a decoder or model bug on one odd file must not sink the employee's other photos
            logger.exception("inspecting selfie %r failed", selfie.name)
            return SelfieInspection(rejected(selfie.name, "processing_failed"))

    def _inspect(self, selfie: SelfieInput) -> SelfieInspection:
        try:
            image = decode_image(bytes(selfie.data), self.limits)
        except IngestError as exc:
            return SelfieInspection(rejected(selfie.name, exc.reason, exc.message))
        size = {"width": image.original_width, "height": image.original_height}
        people = prominent_faces(self.faces.detect(image.rgb))
        if not people:
            return SelfieInspection(rejected(selfie.name, "no_face", **size), image)
        if len(people) > 1:
            return SelfieInspection(rejected(selfie.name, "multiple_faces", **size), image)
        face = people[0]
        if face.eye_distance < self.min_eye_distance_px:
            return SelfieInspection(rejected(selfie.name, "face_too_small", **size), image, face)
        if _fraction_outside(face, image.width, image.height) > MAX_FACE_OUTSIDE_FRACTION:
            return SelfieInspection(rejected(selfie.name, "face_cut_off", **size), image, face)
        mesh = face_mesh_on_face(self.mesher, image.rgb, face)
        metrics = measure_selfie(image.rgb, face, mesh)
        quality = photo_reasons(metrics)
        if quality:
            verdict = SelfieVerdict(
                name=selfie.name, accepted=False, reasons=quality,
                messages=tuple(REASON_MESSAGES[reason] for reason in quality), metrics=metrics.as_dict(), **size,
            )
            return SelfieInspection(verdict, image, face, mesh=mesh, metrics=metrics)
        # A photo cut off just below the chin can't fill even a close-up without painting a smear of invented body
        # into the frame's bottom corners (framing_fit is geometry only; the brand's styles are chosen at planning).
        fit = framing_fit(face, image.width, image.height, Framing(), keep_out_below=keep_out_below(metrics))
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


def _fraction_outside(face: Face, width: int, height: int) -> float:
    """Largest overhang of the face box past any photo edge, as a fraction of the box width."""
    left, top, right, bottom = face.box
    overhang = max(-left, -top, right - width, bottom - height, 0.0)
    return overhang / max(face.width, 1.0) if math.isfinite(overhang) else 0.0
