"""Attire colour: move the clothing (inside the matte, below the chin, not skin or hair) toward the brand colour,
keeping its shading."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .brand import Attire, hex_to_rgb
from .face_mesh import CHIN, FACE_OVAL, FOREHEAD, FaceMesh

# The clothing mask is worked out on a copy this size (long side): it is a smooth region, and the Mahalanobis
# distances on a 2048 px frame would cost ~10x more for no visible difference.
MASK_LONG_SIDE = 512
# Largest move of a pixel's (a*, b*) in CIELAB units at strength 1: enough to turn a grey suit clearly navy or
# burgundy, not enough to make a white shirt neon. L* is never changed, so fabric shading and texture stay.
MAX_CHROMA_SHIFT = 40.0
# Clothing starts this far (fraction of frame height) below the chin and ramps in over the same distance, so
# the neck and jaw shadow are never tinted.
CHIN_MARGIN = 0.02
# A pixel whose colour is within this Mahalanobis distance of the face's skin (or of the hair) is left alone;
# the weight ramps from 0 there to 1 at SKIN_FAR (bare shoulders, arms, a neckline and long hair stay natural).
SKIN_NEAR = 2.5
SKIN_FAR = 4.0
# Matte value above which a pixel is surely the person (the soft edge is left to the compositor).
PERSON = 0.5
# Fewest samples for a colour model to mean anything.
_MIN_SAMPLES = 40


@dataclass(frozen=True)
class AttireInput:
    rgb: np.ndarray
    matte: np.ndarray
    mesh: FaceMesh | None
    # Face box (left, top, right, bottom) in rgb's pixels; used when there is no mesh.
    face_box: tuple[float, float, float, float] | None
    attire: Attire


@dataclass(frozen=True)
class AttireOutput:
    rgb: np.ndarray
    # float32 0..1: how much of the recolouring each pixel got (the clothing region).
    weight: np.ndarray
    params: dict


def check_inputs(inp: AttireInput) -> None:
    if inp.rgb.ndim != 3 or inp.rgb.shape[2] != 3 or inp.rgb.dtype != np.uint8:
        raise ValueError("attire: rgb must be an H x W x 3 uint8 image")
    if inp.matte.shape != inp.rgb.shape[:2]:
        raise ValueError("attire: the matte must have the image's height and width")
    if inp.mesh is None and inp.face_box is None:
        raise ValueError("attire: a face mesh or a face box is needed to find the chin")
    inp.attire.check()


def recolor_attire(inp: AttireInput) -> AttireOutput:
    """Shift the clothing's chroma toward Attire.color by Attire.strength (bounded); L* and everything else
    untouched."""
    check_inputs(inp)
    height, width = inp.matte.shape
    if inp.attire.color is None or inp.attire.strength <= 0.0:
        return AttireOutput(inp.rgb, np.zeros((height, width), np.float32), {"applied": False})
    weight = clothing_weight(inp.rgb, inp.matte, inp.mesh, inp.face_box)
    rows = np.flatnonzero(weight.max(axis=1) > 0)
    if rows.size == 0:
        return AttireOutput(inp.rgb, weight, {"applied": False, "color": inp.attire.color, "reason": "no clothing"})
    cols = np.flatnonzero(weight.max(axis=0) > 0)
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    box = np.ascontiguousarray(inp.rgb[top:bottom, left:right])
    w = weight[top:bottom, left:right]
    # 8-bit Lab is ~30x cheaper than float Lab at this size; a*/b* keep their CIELAB units (offset by 128).
    lab = cv2.cvtColor(box, cv2.COLOR_RGB2Lab).astype(np.float32)
    target = _target_ab(inp.attire.color)
    shift = inp.attire.strength * w[..., None] * (target[None, None, :] - lab[..., 1:])
    shift = np.clip(shift, -MAX_CHROMA_SHIFT, MAX_CHROMA_SHIFT)
    lab[..., 1:] += shift
    recoloured = cv2.cvtColor(np.clip(np.rint(lab), 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB)
    out = inp.rgb.copy()
    touched = w > 0
    out[top:bottom, left:right][touched] = recoloured[touched]
    params = {
        "applied": True,
        "color": inp.attire.color,
        "strength": inp.attire.strength,
        "max_chroma_shift": MAX_CHROMA_SHIFT,
        "region_fraction": round(float((weight > 0.5).mean()), 4),
    }
    return AttireOutput(out, weight, params)


def clothing_weight(rgb: np.ndarray, matte: np.ndarray, mesh: FaceMesh | None,
                    face_box: tuple[float, float, float, float] | None) -> np.ndarray:
    """0..1 per pixel: person, below the chin, and neither skin- nor hair-coloured. Exactly 0 elsewhere."""
    height, width = matte.shape
    scale = min(1.0, MASK_LONG_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_matte = cv2.resize(matte, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32)
    if mesh is not None:
        chin_y = float(mesh.points[CHIN, 1])
        oval = mesh.xy(FACE_OVAL) * scale
        forehead_y = float(mesh.points[FOREHEAD, 1]) * scale
        face_left, face_right = float(oval[:, 0].min()), float(oval[:, 0].max())
    else:
        left, top, right, bottom = face_box  # type: ignore[misc]
        chin_y = bottom
        oval = None
        forehead_y = top * scale
        face_left, face_right = left * scale, right * scale
    rows = np.arange(size[1], dtype=np.float32)[:, None] / scale
    start = chin_y + CHIN_MARGIN * height
    below = np.clip((rows - start) / (CHIN_MARGIN * height), 0.0, 1.0)
    weight = np.clip((small_matte - PERSON) / (1.0 - PERSON), 0.0, 1.0) * below

    # Skin model from the face itself: inside the face oval (or the middle of the face box).
    face_mask = np.zeros(size[::-1], np.uint8)
    if oval is not None:
        cv2.fillPoly(face_mask, [np.rint(oval).astype(np.int32)], 1)
    else:
        left, top, right, bottom = (v * scale for v in face_box)  # type: ignore[union-attr]
        cx, cy, hw, hh = (left + right) / 2, (top + bottom) / 2, (right - left) / 4, (bottom - top) / 4
        face_mask[int(max(cy - hh, 0)):int(cy + hh), int(max(cx - hw, 0)):int(cx + hw)] = 1
    # Chroma only: the neck and a bare shoulder are the face's hue in shadow, darker but not different.
    weight *= _far_from(lab[..., 1:], lab[face_mask.astype(bool) & (small_matte > PERSON)][:, 1:])
    # Hair model: person pixels above the forehead, across the face's width (long hair falls onto the shoulders).
    hair_mask = np.zeros_like(face_mask, dtype=bool)
    top_row = max(0, int(forehead_y - 0.6 * (face_right - face_left)))
    hair_mask[top_row:max(top_row, int(forehead_y)), int(max(face_left, 0)):int(face_right)] = True
    weight *= _far_from(lab, lab[hair_mask & (small_matte > 0.9)])
    weight = cv2.GaussianBlur(weight, (0, 0), max(1.0, 0.004 * max(size)))
    weight[weight < 0.02] = 0.0  # no faint tint spread over skin or backdrop by the blur
    weight = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
    weight[matte <= 0.0] = 0.0  # the blur must not reach past the person
    return weight


def _far_from(lab: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """0 where a pixel's colour matches the samples' distribution (Mahalanobis < SKIN_NEAR), 1 beyond SKIN_FAR."""
    if samples.shape[0] < _MIN_SAMPLES:
        return np.ones(lab.shape[:2], np.float32)
    mean = samples.mean(axis=0)
    # A floor on the spread: a very uniform face would make every slightly different pixel "far".
    cov = np.cov(samples, rowvar=False) + np.eye(samples.shape[1], dtype=np.float64) * 4.0
    inverse = np.linalg.inv(cov).astype(np.float32)
    centred = lab - mean.astype(np.float32)
    distance = np.sqrt(np.einsum("...i,ij,...j->...", centred, inverse, centred))
    return np.clip((distance - SKIN_NEAR) / (SKIN_FAR - SKIN_NEAR), 0.0, 1.0).astype(np.float32)


def _target_ab(color: str) -> np.ndarray:
    swatch = np.array([[hex_to_rgb(color)]], dtype=np.uint8)
    return cv2.cvtColor(swatch, cv2.COLOR_RGB2Lab)[0, 0, 1:].astype(np.float32)
