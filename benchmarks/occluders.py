"""Synthetic occluders on real dev photos (hands, microphones, phones, cups), for calibrating and checking selfie
QC's occlusion check (occlusion.occlusion_measure). Shared by benchmarks/quality.py (--section occlusion) and
tests/inference/test_occlusion.py; deterministic for a given seed.

Each object is drawn at the photo's own resolution with soft shading and a slightly soft (anti-aliased) outline,
placed from the face mesh of the clean photo: over the mouth, chin, neck or a cheek (the face is covered: selfie QC
must refuse it) or on the chest well below the chin (not covering: the photo may stay).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from benchmarks.dev_split import HALF_A, HALF_B

# The occlusion limits are set on half B of the dev people only (dev_split.py), precision/recall reported on half
# A only.
CALIBRATION_PEOPLE = HALF_B
CHECK_PEOPLE = HALF_A

KINDS = ("hand", "microphone", "phone", "cup")
COVERING_PLACES = ("mouth", "chin", "neck", "cheek")
BELOW_PLACES = ("chest",)
PLACES = COVERING_PLACES + BELOW_PLACES
# Object size as a fraction of the face height (forehead to chin).
SIZES = (0.35, 0.5, 0.7)


@dataclass(frozen=True)
class Occluder:
    kind: str
    place: str
    size: float
    seed: int

    @property
    def covers_face(self) -> bool:
        return self.place in COVERING_PLACES

    @property
    def label(self) -> str:
        return f"{self.kind}@{self.place}x{self.size:g}"


def all_occluders(seed: int = 0) -> list[Occluder]:
    return [Occluder(kind, place, size, seed + i) for i, (kind, place, size)
            in enumerate((k, p, s) for k in KINDS for p in PLACES for s in SIZES)]


def anchor(points: np.ndarray, place: str) -> tuple[float, float, float, float]:
    """(x, y, face_height, face_width) for a place, from a 478-point face mesh's xy in the photo's pixels."""
    forehead, chin, lip_low, left_cheek, right_cheek, nose = (points[i] for i in (10, 152, 17, 234, 454, 1))
    height = float(np.linalg.norm(chin - forehead))
    width = float(np.linalg.norm(right_cheek - left_cheek))
    down = (chin - forehead) / max(height, 1.0)
    if place == "mouth":
        x, y = (points[13] + points[14]) / 2.0
    elif place == "chin":
        x, y = (lip_low + chin) / 2.0 + down * 0.04 * height
    elif place == "neck":
        x, y = chin + down * 0.18 * height
    elif place == "cheek":
        x, y = (nose + left_cheek) / 2.0 + down * 0.05 * height
    elif place == "chest":
        x, y = chin + down * 0.85 * height
    else:
        raise ValueError(f"unknown place {place!r}")
    return float(x), float(y), height, width


def draw(rgb: np.ndarray, points: np.ndarray, occluder: Occluder) -> np.ndarray:
    """A copy of rgb with the object drawn in; points: the clean photo's face mesh xy (478, 2)."""
    rng = np.random.default_rng(occluder.seed)
    x, y, face_height, face_width = anchor(points, occluder.place)
    x += rng.uniform(-0.05, 0.05) * face_width
    y += rng.uniform(-0.03, 0.03) * face_height
    size = occluder.size * face_height
    height, width = rgb.shape[:2]
    ss = 2  # drawn at twice the size, then shrunk: an anti-aliased outline as a lens gives
    alpha = np.zeros((height * ss, width * ss), np.uint8)
    shade = np.zeros((height * ss, width * ss), np.float32)
    colour = _colour(rgb, points, occluder.kind, rng)
    cx, cy, s = x * ss, y * ss, size * ss
    angle = rng.uniform(-20, 20)
    if occluder.kind == "microphone":
        head_r = 0.28 * s
        stick_len = 1.6 * s
        tilt = math.radians(angle)
        tip = (cx + math.sin(tilt) * stick_len, cy + math.cos(tilt) * stick_len)
        cv2.line(alpha, _pt(cx, cy), _pt(*tip), 255, max(2, int(0.16 * s)), cv2.LINE_AA)
        cv2.circle(alpha, _pt(cx, cy), int(head_r), 255, -1, cv2.LINE_AA)
        _radial_shade(shade, cx - 0.3 * head_r, cy - 0.3 * head_r, head_r * 1.6)
    elif occluder.kind == "phone":
        box = ((cx, cy), (0.55 * s, 1.1 * s), angle)
        cv2.fillPoly(alpha, [np.round(cv2.boxPoints(box)).astype(np.int32)], 255, cv2.LINE_AA)
        _linear_shade(shade, cx, cy, s, angle)
    elif occluder.kind == "cup":
        w, h = 0.6 * s, 0.8 * s
        top = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + 0.4 * w, cy + h / 2],
                        [cx - 0.4 * w, cy + h / 2]])
        cv2.fillPoly(alpha, [np.round(top).astype(np.int32)], 255, cv2.LINE_AA)
        cv2.ellipse(alpha, _pt(cx + w / 2, cy), (int(0.22 * w), int(0.22 * h)), 0, -90, 90, 255,
                    max(2, int(0.08 * s)), cv2.LINE_AA)
        _linear_shade(shade, cx, cy, s, 90 + angle)
    elif occluder.kind == "hand":
        # A palm with four fingers and a thumb, rising from below (a hand raised to the face).
        palm = ((cx, cy + 0.25 * s), (0.75 * s, 0.7 * s), angle)
        cv2.ellipse(alpha, palm, 255, -1, cv2.LINE_AA)
        tilt = math.radians(angle)
        for k, length in enumerate((0.55, 0.65, 0.6, 0.48)):
            fx = cx + (k - 1.5) * 0.18 * s
            fy = cy - 0.05 * s
            ex, ey = fx + math.sin(tilt) * length * s, fy - math.cos(tilt) * length * s
            cv2.line(alpha, _pt(fx, fy), _pt(ex, ey), 255, max(2, int(0.15 * s)), cv2.LINE_AA)
        cv2.line(alpha, _pt(cx - 0.3 * s, cy + 0.3 * s), _pt(cx - 0.6 * s, cy - 0.05 * s), 255,
                 max(2, int(0.17 * s)), cv2.LINE_AA)
        _radial_shade(shade, cx, cy, s)
    else:
        raise ValueError(f"unknown kind {occluder.kind!r}")
    alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    shade = cv2.resize(shade, (width, height), interpolation=cv2.INTER_AREA)
    strength = 0.35 if occluder.kind == "hand" else 0.5
    layer = colour[None, None, :] * (1.0 - strength * shade[..., None])
    grain = rng.normal(0.0, 2.0, rgb.shape).astype(np.float32)  # the sensor noise the rest of the photo has
    out = rgb.astype(np.float32) * (1 - alpha[..., None]) + (layer + grain) * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _colour(rgb: np.ndarray, points: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "hand":
        # The person's own skin tone (cheek median), a little lighter or darker: a hand nearer the light or lens.
        x0, y0 = points[[234, 1]].mean(axis=0).astype(int)
        patch = rgb[max(y0 - 4, 0):y0 + 5, max(x0 - 4, 0):x0 + 5].reshape(-1, 3).astype(np.float32)
        return np.median(patch, axis=0) * rng.uniform(0.8, 1.15)
    if kind == "microphone":
        return np.array([rng.uniform(20, 60)] * 3, np.float32)
    if kind == "phone":
        palette = [(25, 25, 30), (200, 30, 40), (30, 60, 170), (235, 235, 240), (40, 140, 70)]
        return np.array(palette[rng.integers(len(palette))], np.float32)
    palette = [(210, 40, 40), (240, 240, 235), (40, 90, 190), (230, 190, 40), (30, 30, 30)]
    return np.array(palette[rng.integers(len(palette))], np.float32)


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _radial_shade(shade: np.ndarray, cx: float, cy: float, radius: float) -> None:
    ys, xs = np.ogrid[:shade.shape[0], :shade.shape[1]]
    shade[:] = np.clip(np.hypot(xs - cx, ys - cy) / max(radius, 1.0), 0, 1)


def _linear_shade(shade: np.ndarray, cx: float, cy: float, size: float, angle: float) -> None:
    ys, xs = np.ogrid[:shade.shape[0], :shade.shape[1]]
    t = math.radians(angle)
    shade[:] = np.clip(0.5 + ((xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)) / max(size, 1.0), 0, 1)
