"""Colour finishing of the subject: white balance, one face exposure for the whole team, the brand grade and the
backdrop's colour cast."""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from .brand import ColorGrade
from .face_mesh import EYE_A_CONTOUR, EYE_B_CONTOUR, FACE_OVAL, LEFT_IRIS, RIGHT_IRIS, FaceMesh
from .retouch import face_grid, skin_colour_mask, skin_polygon_mask, to_lab

# -- photometric finishing: white balance, team face exposure, brand grade, backdrop cast ---------------------------

# Face exposure target (mean L* of the face skin) when a team has none yet: the median over the 41 dev photos (67.8,
# range 44-79), so a default run moves a typical face very little.
DEFAULT_FACE_LUMA = 67.0
# Demographic safety: face_luma is mostly skin reflectance, not exposure, so pushing every face to one L* would
# lighten dark skin and darken light skin. The exposure step therefore never moves a face's mean L* by more than
# this (a CIELAB dE of 3 on its own, under the bound of 5); a team target evens out exposure mistakes
# within that and leaves skin tone alone.
MAX_FACE_SHIFT_L = 3.0
# White balance: the evidence is what should be grey: the sclera (its whiter half) and near-grey clothing below the
# chin. Skin never counts (gray-world on a face pulls every skin tone toward grey), nor does hair (brown and blond
# hair is low-chroma but warm), nor any pixel whose colour is near the face's own skin colour (a bare neckline).
# A pixel is near-grey when its Lab chroma lies within WB_NEUTRAL_RADIUS of zero, then of the first estimate.
WB_NEUTRAL_RADIUS = (14.0, 7.0)
WB_MIN_L, WB_MAX_L = 45.0, 97.0
WB_SKIN_EXCLUSION = 10.0
# Too little evidence (share of the subject) and no correction at all: a guess would tint everyone.
WB_MIN_EVIDENCE = 0.005
WB_MIN_SCLERA_PIXELS = 8
# Casts smaller than this (Lab chroma of the neutrals) are left alone: estimation noise, a cream shirt, or light
# the photographer meant.
WB_DEAD_ZONE = 4.0
# One source alone is noisier (a sclera reading varies by ~5 units between balanced photos): a wider dead zone.
WB_SINGLE_SOURCE_DEAD_ZONE = 6.0
# When sclera and clothing both speak and their casts differ by more than this, neither is trusted.
WB_MAX_DISAGREEMENT = 6.0
# A sclera seen over at least this many pixels outranks clothing that disagrees with it.
WB_TRUSTED_SCLERA_PIXELS = 60
# One source alone (sclera only, or clothing only) corrects with this share of WB_STRENGTH.
WB_SINGLE_SOURCE_SHARE = 0.8
# Share of the cast removed, and the largest per-channel gain: a bounded correction, never a re-colouring.
WB_STRENGTH = 0.75
WB_MAX_GAIN = 1.12
SCLERA_WEIGHT = 4.0
# A sclera in a photo is not paper-white (vessels, lid shadow, caruncle): the median Lab chroma of the whiter half of
# the eye openings over the 41 dev photos (mostly professionally balanced) is about this (a*, b*).
SCLERA_NATURAL_AB = (7.0, 5.0)
# match_colour_cast: the largest per-channel gain the backdrop may put on the subject.
CAST_MAX_GAIN = 0.05
# Estimation works on a copy with this long side.
ESTIMATE_LONG_SIDE = 256
_SRGB = np.linspace(0.0, 1.0, 256)
_Y = np.array([0.2126, 0.7152, 0.0722])  # linear-light luminance weights (sRGB primaries)
_LINEAR = np.where(_SRGB <= 0.04045, _SRGB / 12.92, ((_SRGB + 0.055) / 1.055) ** 2.4)


def _encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def _shoulder(linear: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Identity below `knee`, then a smooth roll-off that reaches 1 only asymptotically: gains never clip skin."""
    over = np.maximum(linear - knee, 0.0)
    return np.where(linear <= knee, linear, knee + (1.0 - knee) * np.tanh(over / (1.0 - knee)))


def gain_luts(gains) -> np.ndarray:
    """256 x 1 x 3 uint8 table: each channel scaled by its gain in linear light, with a highlight shoulder."""
    tables = [np.rint(_encode(_shoulder(_LINEAR * g)) * 255.0) for g in gains]
    return np.stack(tables, axis=-1).astype(np.uint8).reshape(256, 1, 3)


def _apply_gains(rgb: np.ndarray, gains) -> np.ndarray:
    return cv2.LUT(np.ascontiguousarray(rgb), gain_luts(gains))


def _small(image: np.ndarray, long_side: int = ESTIMATE_LONG_SIDE) -> tuple[np.ndarray, float]:
    scale = min(1.0, long_side / max(image.shape[:2]))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def white_balance(rgb: np.ndarray, matte: np.ndarray, mesh: FaceMesh | None) -> tuple[np.ndarray, dict]:
    """Neutralise a colour cast from evidence that should be grey (sclera, grey/white clothing), bounded.

    Gray-world on the subject would pull skin toward grey (and darker skin further), so skin is never evidence.
    Without a mesh there is no way to tell clothing from face and hair, and nothing changes.
    """
    _check_rgb(rgb)
    if matte.shape != rgb.shape[:2]:
        raise ValueError("matte must have rgb's height and width")
    if mesh is None:
        return rgb, {"applied": False, "reason": "no_face_mesh"}
    sclera_lab = _sclera_lab(rgb, mesh)
    clothing_lab, clothing_share = _clothing_lab(rgb, matte, mesh)
    sources = {}
    for name, lab in (("sclera", sclera_lab), ("clothing", clothing_lab)):
        if lab is not None:
            cast, used = _neutral_cast(lab)
            if used:
                sources[name] = (cast, lab, used)
    params: dict[str, Any] = {name: {"cast_ab": [round(float(v), 2) for v in cast], "pixels": used}
                              for name, (cast, _, used) in sources.items()}
    params["clothing_share"] = round(clothing_share, 4)
    if not sources:
        return rgb, {**params, "applied": False, "reason": "too_little_neutral_evidence"}
    if len(sources) == 2 and math.hypot(*(sources["sclera"][0] - sources["clothing"][0])) > WB_MAX_DISAGREEMENT:
        # Clothing may simply be coloured (a pale blue shirt reads as a cast); a well-seen sclera outranks it.
        if sources["sclera"][2] < WB_TRUSTED_SCLERA_PIXELS:
            return rgb, {**params, "applied": False, "reason": "evidence_disagrees"}
        del sources["clothing"]
        params["clothing_ignored"] = True
    casts = [cast for cast, _, _ in sources.values()]
    cast = np.mean(casts, axis=0)
    params["cast_ab"] = [round(float(v), 2) for v in cast]
    if math.hypot(*cast) < (WB_DEAD_ZONE if len(sources) == 2 else WB_SINGLE_SOURCE_DEAD_ZONE):
        return rgb, {**params, "applied": False, "reason": "no_cast"}
    strength = WB_STRENGTH * (1.0 if len(sources) == 2 else WB_SINGLE_SOURCE_SHARE)
    # Per-channel linear gains that take the evidence's mean colour to the same colour minus the cast.
    lab = np.concatenate([lab for _, lab, _ in sources.values()])
    target = lab.copy()
    target[:, 1:] -= cast.astype(np.float32)
    now = _to_linear(np.clip(cv2.cvtColor(lab[None], cv2.COLOR_Lab2RGB)[0], 0.0, 1.0)).mean(axis=0)
    wanted = _to_linear(np.clip(cv2.cvtColor(target[None], cv2.COLOR_Lab2RGB)[0], 0.0, 1.0)).mean(axis=0)
    gains = np.clip((wanted / np.maximum(now, 1e-6)) ** strength, 1.0 / WB_MAX_GAIN, WB_MAX_GAIN)
    gains *= float(now @ _Y) / float((gains * now) @ _Y)  # luminance stays: exposure is another stage's job
    out = _apply_gains(rgb, gains)
    return out, {**params, "applied": True, "strength": round(strength, 3),
                 "gains": [round(float(g), 4) for g in gains]}


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _neutral_cast(lab: np.ndarray) -> tuple[np.ndarray, int]:
    """Median chroma of the near-grey pixels (first near zero, then near that estimate) and how many there were."""
    cast = np.zeros(2, dtype=np.float64)
    used = 0
    for radius in WB_NEUTRAL_RADIUS:
        near = np.hypot(lab[:, 1] - cast[0], lab[:, 2] - cast[1]) < radius
        used = int(near.sum())
        if used < WB_MIN_SCLERA_PIXELS:
            return cast, 0
        cast = np.median(lab[near, 1:], axis=0).astype(np.float64)
    return cast, used


def _sclera_lab(rgb: np.ndarray, mesh: FaceMesh) -> np.ndarray | None:
    """Lab of the whiter half of both eye openings outside the irises, at full resolution, with the sclera's own
    natural warmth taken off (a healthy sclera is not paper-white). None when the eyes show too little sclera."""
    pieces = []
    for contour, iris in ((EYE_A_CONTOUR, LEFT_IRIS), (EYE_B_CONTOUR, RIGHT_IRIS)):
        xy = mesh.xy(contour)
        (x0, y0), (x1, y1) = np.floor(xy.min(axis=0)).astype(int), np.ceil(xy.max(axis=0)).astype(int) + 1
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, rgb.shape[1]), min(y1, rgb.shape[0])
        if x1 - x0 < 3 or y1 - y0 < 2:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillPoly(mask, [np.round(xy - [x0, y0]).astype(np.int32)], 1)
        centre = mesh.points[iris[0], :2]
        radius = float(np.mean(np.linalg.norm(mesh.points[list(iris[1:]), :2] - centre, axis=1)))
        cv2.circle(mask, (int(round(centre[0] - x0)), int(round(centre[1] - y0))), int(math.ceil(1.15 * radius)), 0, -1)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8)) if mask.sum() > 40 else mask
        lab = to_lab(np.ascontiguousarray(rgb[y0:y1, x0:x1]))[mask > 0]
        if len(lab):
            pieces.append(lab)
    if not pieces:
        return None
    lab = np.concatenate(pieces)
    lab = lab[(lab[:, 0] >= np.median(lab[:, 0])) & (lab[:, 0] > WB_MIN_L)]
    if len(lab) < WB_MIN_SCLERA_PIXELS:
        return None
    lab[:, 1:] -= np.array(SCLERA_NATURAL_AB, dtype=np.float32)
    return lab


def _clothing_lab(rgb: np.ndarray, matte: np.ndarray, mesh: FaceMesh) -> tuple[np.ndarray | None, float]:
    """Lab of light, unsaturated-looking subject pixels below the chin that are not skin-coloured."""
    small, scale = _small(rgb)
    shape = small.shape[:2]
    alpha = cv2.resize(matte.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    oval = np.round(mesh.xy(FACE_OVAL) * scale).astype(np.int32)
    y0, y1 = int(oval[:, 1].min()), int(oval[:, 1].max())
    keep = alpha > 0.5
    keep[: min(shape[0], int(y1 + 0.15 * (y1 - y0)))] = False  # only below the chin: no hair, no face
    face = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(face, [oval], 1)
    skin_ab = np.median(lab[face > 0][:, 1:], axis=0) if face.any() else np.array([14.0, 16.0])
    keep &= np.hypot(lab[..., 1] - skin_ab[0], lab[..., 2] - skin_ab[1]) > WB_SKIN_EXCLUSION
    keep &= (lab[..., 0] > WB_MIN_L) & (lab[..., 0] < WB_MAX_L)
    share = float(keep.sum()) / max(float((alpha > 0.5).sum()), 1.0)
    if share < WB_MIN_EVIDENCE:
        return None, share
    return lab[keep], share


def face_luma(rgb: np.ndarray, mesh: FaceMesh | None) -> float:
    """Mean L* (CIELAB, 0..100) of the face skin (face oval minus eyes, brows, lips, nostrils; skin-coloured)."""
    _check_rgb(rgb)
    if mesh is None:
        raise ValueError("face_luma needs a face mesh; without one there is no face skin to measure")
    grid, (left, top, right, bottom) = face_grid(mesh, rgb.shape[:2], long_side=160)
    lab = to_lab(cv2.resize(rgb[top:bottom, left:right], grid.size, interpolation=cv2.INTER_AREA))
    skin = skin_colour_mask(lab, skin_polygon_mask(mesh, grid))
    if skin.sum() < 1.0:
        raise ValueError("the face mesh covers no skin pixels in this image")
    return float(np.sum(skin * lab[..., 0]) / np.sum(skin))


def normalize_face_exposure(rgb: np.ndarray, mesh: FaceMesh | None, target_luma: float,
                            max_gain_ev: float = 1.0, *,
                            max_shift_l: float = MAX_FACE_SHIFT_L) -> tuple[np.ndarray, dict]:
    """One global exposure gain (linear light, highlight shoulder) that moves face_luma toward target_luma.

    Two bounds: the gain stays within +-max_gain_ev stops, and the face's L* moves by at most max_shift_l (see
    MAX_FACE_SHIFT_L; pass a larger value to force a team onto one face luma). Without a mesh nothing changes,
    and params say why.
    """
    _check_rgb(rgb)
    if not 0.0 < target_luma < 100.0:
        raise ValueError(f"target_luma must be an L* value between 0 and 100, got {target_luma}")
    if max_gain_ev < 0 or max_shift_l < 0:
        raise ValueError("max_gain_ev and max_shift_l must be >= 0")
    params: dict[str, Any] = {"target_luma": round(float(target_luma), 2), "max_gain_ev": float(max_gain_ev),
                              "max_shift_l": float(max_shift_l)}
    if mesh is None:
        return rgb, {**params, "applied": False, "reason": "no_face_mesh", "gain_ev": 0.0}
    grid, (left, top, right, bottom) = face_grid(mesh, rgb.shape[:2], long_side=160)
    face = cv2.resize(rgb[top:bottom, left:right], grid.size, interpolation=cv2.INTER_AREA)
    local_mesh = FaceMesh(points=(mesh.points - np.array([left, top, 0], np.float32)) * np.float32(grid.scale))
    before = face_luma(face, local_mesh)
    goal = before + float(np.clip(target_luma - before, -max_shift_l, max_shift_l))
    # L* ~ 116 Y^(1/3) - 16: a gain g moves (L* + 16) by g^(1/3). Two secant steps on the small face absorb the
    # shoulder and the black toe that this ignores.
    ev = 3.0 * math.log2((goal + 16.0) / (before + 16.0))
    for _ in range(2):
        ev = float(np.clip(ev, -max_gain_ev, max_gain_ev))
        got = face_luma(_apply_gains(face, [2.0 ** ev] * 3), local_mesh)
        ev += 3.0 * math.log2((goal + 16.0) / (got + 16.0))
    ev = float(np.clip(ev, -max_gain_ev, max_gain_ev))
    if abs(ev) < 1e-3:
        return rgb, {**params, "applied": False, "reason": "on_target", "face_luma_before": round(before, 2),
                     "gain_ev": 0.0}
    out = _apply_gains(rgb, [2.0 ** ev] * 3)
    return out, {**params, "applied": True, "face_luma_before": round(before, 2), "face_luma_goal": round(goal, 2),
                 "gain_ev": round(ev, 4)}


# White-balance shift at temperature = +-1: red and blue gains move by this much in opposite directions.
_TEMPERATURE_GAIN = 0.08


def _channel_luts(grade: ColorGrade) -> np.ndarray:
    """One 256-entry table per channel: white balance (temperature), then the brand contrast around mid-grey."""
    x = np.linspace(0.0, 1.0, 256)
    gains = (1.0 + _TEMPERATURE_GAIN * grade.temperature, 1.0, 1.0 - _TEMPERATURE_GAIN * grade.temperature)
    tables = []
    for gain in gains:
        y = np.clip(x * gain, 0.0, 1.0)
        y = np.clip(0.5 + (y - 0.5) * grade.contrast, 0.0, 1.0)
        tables.append(np.clip(np.rint(y * 255.0), 0, 255))
    return np.stack(tables, axis=-1).astype(np.uint8).reshape(256, 1, 3)


def grade(rgb: np.ndarray, grade: ColorGrade) -> np.ndarray:
    """The brand grade (temperature, contrast, saturation) on the subject; the neutral grade is an exact no-op."""
    _check_rgb(rgb)
    grade.check()
    graded = cv2.LUT(np.ascontiguousarray(rgb), _channel_luts(grade))
    if abs(grade.saturation - 1.0) > 1e-6:
        # luma + s * (rgb - luma) in 8-bit saturating arithmetic: within one level of the float computation, at a
        # fraction of its time on a 2048 px master.
        luma = cv2.cvtColor(cv2.cvtColor(graded, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        graded = cv2.addWeighted(graded, grade.saturation, luma, 1.0 - grade.saturation, 0.0)
    return graded


def match_colour_cast(subject: np.ndarray, matte: np.ndarray, backdrop: np.ndarray,
                      strength: float = 0.3) -> np.ndarray:
    """Move the subject's colour balance a bounded step toward the backdrop's (light bounced off it tints people).

    The gains keep luminance and are capped at +-CAST_MAX_GAIN per channel, so a saturated brand colour can
    never dye a face.
    """
    _check_rgb(subject)
    _check_rgb(backdrop)
    if subject.shape != backdrop.shape or matte.shape != subject.shape[:2]:
        raise ValueError("subject, matte and backdrop must share the frame size")
    if not 0.0 <= strength <= 1.0:
        raise ValueError("strength must be between 0 and 1")
    if strength == 0.0:
        return subject
    small, _ = _small(backdrop)
    alpha = cv2.resize(matte.astype(np.float32), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    # The backdrop that lights the person is what surrounds them, not what they hide.
    around = np.clip(1.0 - alpha, 0.0, 1.0)[..., None]
    mean = np.sum(around * _LINEAR[small], axis=(0, 1)) / max(float(around.sum()), 1.0)
    luminance = float(mean @ _Y)
    if luminance <= 1e-4:
        return subject
    gains = np.clip((mean / luminance) ** strength, 1.0 - CAST_MAX_GAIN, 1.0 + CAST_MAX_GAIN)
    gains *= luminance / float((gains * mean) @ _Y)
    return _apply_gains(subject, gains)


def _check_rgb(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 uint8 RGB array")
