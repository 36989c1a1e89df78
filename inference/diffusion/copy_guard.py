"""klein's copy-paste guard: a re-photographed face must not be one of the reference selfies' faces pasted back.

The output's face, aligned on the eyes like each reference's, is compared pixel for pixel by the rank correlation of
their grey values, which is blind to grade, exposure and contrast curves."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from ..face_detect import Face

# Measured through the klein backend's finishing on six dev people: a pasted selfie scores 0.905-0.997, another real
# photo of the same person (what a re-photograph is like: new light, pose, expression) 0.35-0.87.
MAX_FACE_CORRELATION = 0.89
ALIGNED_FACE = (64, 80)          # width, height of the aligned face crop the guard compares
_EYE_Y, _EYE_GAP = 0.38, 0.42    # where the eyes go in that crop (share of height; eye distance share of width)


def aligned_face(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The face as a grey ALIGNED_FACE crop with the eyes at fixed points, as standardised pixel ranks."""
    width, height = ALIGNED_FACE
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    source = np.float32([[lx, ly], [rx, ry]])
    gap = _EYE_GAP * width
    target = np.float32([[(width - gap) / 2, _EYE_Y * height], [(width + gap) / 2, _EYE_Y * height]])
    matrix, _ = cv2.estimateAffinePartial2D(source, target)
    if matrix is None:  # two points always give a similarity unless the eyes coincide
        matrix = np.float32([[1, 0, 0], [0, 1, 0]])
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    crop = cv2.warpAffine(grey, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    # Ranks, not values: a grade, an exposure or a contrast curve (any monotonic tone change) leaves them as they
    # were, so only a change of the face itself (light direction, pose, expression) lowers the correlation.
    ranks = np.argsort(np.argsort(crop.ravel(), kind="stable"), kind="stable").astype(np.float32).reshape(crop.shape)
    ranks -= ranks.mean()
    return ranks / max(float(ranks.std()), 1e-6)


def face_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two aligned faces: 1 = the same pixels up to exposure and contrast."""
    return float(np.mean(a * b))


def copy_paste_check(output_face: np.ndarray, references: Mapping[str, np.ndarray],
                     limit: float = MAX_FACE_CORRELATION) -> tuple[dict[str, Any], bool]:
    """Scores of the guard and whether it fails: the output's face must not be one of the references' faces."""
    if not references:
        return {"copy_paste": "unavailable: no reference face to compare"}, False
    correlations = {name: round(face_correlation(output_face, ref), 4) for name, ref in references.items()}
    nearest = max(correlations, key=correlations.get)
    return {"face_correlation_max": correlations[nearest], "face_correlation_nearest": nearest,
            "face_correlation_limit": limit}, correlations[nearest] >= limit
