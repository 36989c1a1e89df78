"""Output QC (v0): does the headshot still show exactly one face, the same person, sharp, with the eyes on the brand line?"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from .face_detect import SAME_PERSON_DISTANCE, FaceAnalyzer, identity_distance


@dataclass(frozen=True)
class HeadshotQC:
    face_count: int
    # Distance to the mean embedding of the employee's accepted selfies (the identity profile).
    identity_distance: float | None
    # Distance to the one selfie this headshot was made from.
    identity_distance_to_source: float | None
    # Variance of the Laplacian over the face box, on a fixed-size grey crop so it is comparable across sizes
    # (and with the selfie check in pipeline.py).
    sharpness: float | None
    # Measured eye-midpoint height / frame height, to compare with the brand's framing.eye_line.
    eye_line: float | None
    passed: bool
    # Why it failed, as codes: "face_count", "identity".
    failures: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = list(self.failures)
        return data


def assess_headshot(
    analyzer: FaceAnalyzer,
    rgb: np.ndarray,
    *,
    profile_embedding: np.ndarray,
    source_embedding: np.ndarray | None = None,
    threshold: float = SAME_PERSON_DISTANCE,
) -> tuple[HeadshotQC, np.ndarray | None]:
    """QC scores of one finished headshot, and its face embedding (None when no face is found)."""
    faces = analyzer.detect(rgb)
    if not faces:
        return HeadshotQC(0, None, None, None, None, passed=False, failures=("face_count",)), None
    face = faces[0]
    embedding = analyzer.embed(rgb, face)
    distance = identity_distance(embedding, profile_embedding)
    to_source = identity_distance(embedding, source_embedding) if source_embedding is not None else None
    failures = []
    if len(faces) != 1:
        failures.append("face_count")
    if not distance < threshold:
        failures.append("identity")
    qc = HeadshotQC(
        face_count=len(faces),
        identity_distance=round(distance, 4),
        identity_distance_to_source=None if to_source is None else round(to_source, 4),
        sharpness=round(face_sharpness(rgb, face.box), 2),
        eye_line=round(face.eye_midpoint[1] / rgb.shape[0], 4),
        passed=not failures,
        failures=tuple(failures),
    )
    return qc, embedding


def face_sharpness(rgb: np.ndarray, box: tuple[float, float, float, float], *, size: int = 128) -> float:
    """Variance of the Laplacian of the face crop resized to size x size (so a bigger frame doesn't score sharper)."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = (int(round(v)) for v in box)
    left, top = max(left, 0), max(top, 0)
    right, bottom = min(right, width), min(bottom, height)
    if right - left < 2 or bottom - top < 2:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[top:bottom, left:right]), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def face_brightness(rgb: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Mean grey level (0..255) inside the face box: a cheap exposure check."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = (int(round(v)) for v in box)
    crop = rgb[max(top, 0):min(bottom, height), max(left, 0):min(right, width)]
    if crop.size == 0:
        return 0.0
    return float(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).mean())
