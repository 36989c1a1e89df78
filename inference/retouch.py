"""Skin retouching a directory photo can carry: bounded, texture-preserving smoothing, small-blemish removal,
under-eye softening and capped teeth brightening, all inside a face-mesh skin mask."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .face_mesh import (
    BROW_A,
    BROW_B,
    EYE_A,
    EYE_A_CONTOUR,
    EYE_B,
    EYE_B_CONTOUR,
    FACE_OVAL,
    LIPS_INNER,
    LIPS_OUTER,
    FaceMesh,
)

# Lower nose (tip, alae, nostrils) in mediapipe's mesh: nostrils are dark holes a blemish detector would "remove",
# and their edges are real structure, not skin texture.
NOSTRILS = (64, 219, 218, 237, 44, 1, 274, 457, 438, 439, 294, 327, 326, 2, 97, 98)
# How far (in eye widths) eye, brow and lip regions grow before they are cut out of the skin: lashes, the lid
# crease and the lip line sit just outside the mesh contours and must keep their crisp detail.
EYE_MARGIN = 0.22
BROW_MARGIN = 0.12
LIPS_MARGIN = 0.08
NOSTRIL_MARGIN = 0.05
# Skin-colour check: pixels inside the polygon whose Lab chroma lies further than this from the face's median
# skin colour (hair over the forehead, glasses frames, beard shadow) are not treated as skin.
SKIN_CHROMA_DISTANCE = 16.0
SKIN_DARKER_THAN_MEDIAN = 40.0
# Beard, stubble, hair strands and glasses have far more local detail than skin: pixels whose local high-frequency
# energy exceeds this multiple of the face's median are not skin (full skin below the lower, none above the upper).
SKIN_TEXTURE_RATIO = (2.5, 4.0)
# Holes in the skin-colour mask narrower than this (fraction of the face box) are closed.
SKIN_HOLE_CLOSING = 0.035
# The masks are built on a copy whose long side is at most this; they are smooth and upsampled.
MASK_LONG_SIDE = 320
# "Not over-retouched": the texture measure is the energy of luma minus its Gaussian blur at this sigma (pixels of
# the output), inside the skin mask. The issue fixes sigma ~ 2.
TEXTURE_SIGMA = 2.0
# The smoothing solve keeps this much head-room over min_texture_share, for uint8 rounding of the result.
TEXTURE_MARGIN = 0.01
# The fully smoothed skin (strength 1 before the texture bound) keeps this share of the finest grain, so even the
# strongest setting never yields plastic skin. Its edge-aware base uses a self-guided filter at this radius and
# regularisation (radius in face widths; eps in 8-bit levels, squared).
FINE_GRAIN_KEPT = 0.35
FINE_GRAIN_SIGMA = 1.0
SMOOTH_RADIUS = 0.022
SMOOTH_EPS_LEVELS = 9.0
# Blemishes: a spot darker (or redder) than its local median by at least this many L* units, and by this many
# robust deviations of the skin's own variation, between these diameters (face widths). Only isolated spots count:
# with more candidates than this within ISOLATION_RADIUS it is texture (stubble, freckles), which identity keeps.
BLEMISH_MIN_CONTRAST = 6.0
BLEMISH_MIN_SIGMAS = 4.0
BLEMISH_MIN_DIAMETER = 0.004
BLEMISH_MAX_DIAMETER = 0.03
BLEMISH_REDNESS_WEIGHT = 0.6
ISOLATION_RADIUS = 0.08
ISOLATION_MAX_NEIGHBOURS = 2
MAX_BLEMISHES = 25
# Under the eyes: the crescent from just below the lashes down to this far (eye widths); it is lifted toward the
# cheek below by at most this share of the difference, and never by more than MAX_UNDER_EYE_GAIN.
UNDER_EYE_TOP = 0.10
UNDER_EYE_BOTTOM = 0.50
UNDER_EYE_LIFT_SHARE = 0.6
MAX_UNDER_EYE_GAIN = 1.12
# Teeth: only bright, low-saturation pixels inside the inner lips; L* lift and yellow (b*) reduction are capped so
# teeth never reach "perfect white".
TEETH_MIN_L = 45.0
TEETH_MAX_CHROMA = 30.0
MAX_TEETH_LIFT_L = 6.0
MAX_TEETH_YELLOW_CUT = 0.35
MOUTH_OPEN_MIN_AREA = 0.002  # inner-lips area / face-box area below which the mouth is closed
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class RetouchError(ValueError):
    """A RetouchInput field is malformed; the message names the field."""


@dataclass(frozen=True)
class RetouchInput:
    rgb: np.ndarray
    mesh: FaceMesh | None
    matte: np.ndarray
    # 0 = untouched .. 1 = strongest; always bounded by min_texture_share.
    strength: float
    min_texture_share: float

    def check(self) -> None:
        if not isinstance(self.rgb, np.ndarray) or self.rgb.dtype != np.uint8 or self.rgb.ndim != 3 \
                or self.rgb.shape[2] != 3:
            raise RetouchError("rgb must be an H x W x 3 uint8 array")
        if not isinstance(self.matte, np.ndarray) or self.matte.shape != self.rgb.shape[:2]:
            raise RetouchError(f"matte must be an H x W array matching rgb {self.rgb.shape[:2]}")
        if self.mesh is not None and not isinstance(self.mesh, FaceMesh):
            raise RetouchError("mesh must be a FaceMesh or None")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise RetouchError("strength must be between 0 and 1")
        if not 0.0 < float(self.min_texture_share) <= 1.0:
            raise RetouchError("min_texture_share must be in (0, 1]")


@dataclass(frozen=True)
class RetouchOutput:
    rgb: np.ndarray
    # High-frequency energy of the skin after / before (1.0 when nothing was retouched).
    texture_share: float
    params: dict[str, Any]


# -- regions from the mesh -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A working raster: image point p lands at (p - origin) * scale; size is (width, height)."""

    origin: tuple[float, float]
    scale: float
    size: tuple[int, int]

    def pts(self, mesh: FaceMesh, indices) -> np.ndarray:
        xy = (mesh.xy(indices) - np.array(self.origin, dtype=np.float32)) * self.scale
        return np.round(xy * 16).astype(np.int32)  # 4 fractional bits for cv2's sub-pixel polygon fill


def eye_width(mesh: FaceMesh) -> float:
    widths = [np.linalg.norm(mesh.points[a, :2] - mesh.points[b, :2]) for a, b, *_ in (EYE_A, EYE_B)]
    return float(max(np.mean(widths), 1.0))


def face_width(mesh: FaceMesh) -> float:
    oval = mesh.xy(FACE_OVAL)
    return float(max(oval[:, 0].max() - oval[:, 0].min(), 1.0))


def face_grid(mesh: FaceMesh, image_shape: tuple[int, int], *, pad: float = 0.12,
              long_side: int | None = MASK_LONG_SIDE) -> tuple[Grid, tuple[int, int, int, int]]:
    """A grid over the face box (all mesh points, padded, clipped to the image) and that box in image pixels."""
    height, width = image_shape
    xy = mesh.points[:, :2]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    margin = pad * max(x1 - x0, y1 - y0)
    left, top = max(int(math.floor(x0 - margin)), 0), max(int(math.floor(y0 - margin)), 0)
    right, bottom = min(int(math.ceil(x1 + margin)), width), min(int(math.ceil(y1 + margin)), height)
    if right - left < 4 or bottom - top < 4:
        raise RetouchError("the face mesh lies outside the image")
    scale = 1.0 if long_side is None else min(1.0, long_side / max(right - left, bottom - top))
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    return Grid((float(left), float(top)), scale, size), (left, top, right, bottom)


def _fill(mask: np.ndarray, grid: Grid, mesh: FaceMesh, indices, value: float = 1.0) -> None:
    cv2.fillPoly(mask, [grid.pts(mesh, indices)], value, lineType=cv2.LINE_AA, shift=4)


def _grown(grid: Grid, mesh: FaceMesh, polygons, margin_px: float) -> np.ndarray:
    mask = np.zeros((grid.size[1], grid.size[0]), dtype=np.uint8)
    for indices in polygons:
        _fill(mask, grid, mesh, indices, 255)
    radius = int(round(margin_px * grid.scale))
    if radius > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return mask.astype(np.float32) / 255.0


def skin_polygon_mask(mesh: FaceMesh, grid: Grid) -> np.ndarray:
    """Face oval minus eyes, brows, lips and nostrils (each grown by its margin), on `grid`; float32 0..1."""
    oval = np.zeros((grid.size[1], grid.size[0]), dtype=np.uint8)
    _fill(oval, grid, mesh, FACE_OVAL, 255)
    skin = oval.astype(np.float32) / 255.0
    eye = eye_width(mesh)
    for polygons, margin in (((EYE_A_CONTOUR, EYE_B_CONTOUR), EYE_MARGIN), ((BROW_A, BROW_B), BROW_MARGIN),
                             ((LIPS_OUTER,), LIPS_MARGIN), ((NOSTRILS,), NOSTRIL_MARGIN)):
        skin = np.minimum(skin, 1.0 - _grown(grid, mesh, polygons, margin * eye))
    return skin


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of uint8 sRGB: L 0..100, a and b signed; float32."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def skin_colour_mask(lab: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """polygon restricted to skin-like pixels: colour near the face's median skin colour and no more local detail
    than skin has (soft, float32)."""
    inside = polygon > 0.5
    if inside.sum() < 16:
        return polygon
    detail = lab[..., 0] - cv2.GaussianBlur(lab[..., 0], (0, 0), 1.5)
    # Local detail over a window ~2% of the face box: a beard is a region, a pore is not.
    local = cv2.GaussianBlur(detail * detail, (0, 0), max(1.5, 0.02 * max(lab.shape[:2])))
    ratio = local / max(float(np.median(local[inside])), 1e-6)
    low, high = SKIN_TEXTURE_RATIO
    texture_ok = np.clip((high - ratio) / (high - low), 0.0, 1.0)
    median = np.median(lab[inside], axis=0)
    chroma_distance = np.hypot(lab[..., 1] - median[1], lab[..., 2] - median[2])
    chroma_ok = np.clip((SKIN_CHROMA_DISTANCE * 1.25 - chroma_distance) / (0.25 * SKIN_CHROMA_DISTANCE), 0.0, 1.0)
    darker = median[0] - lab[..., 0]
    luma_ok = np.clip((SKIN_DARKER_THAN_MEDIAN * 1.25 - darker) / (0.25 * SKIN_DARKER_THAN_MEDIAN), 0.0, 1.0)
    mask = (chroma_ok * luma_ok * texture_ok).astype(np.float32)
    # Close holes the size of a spot or a mole (the checks above cut them out, and they are exactly what retouching
    # is for); beard, hair and glasses are far larger and stay out.
    radius = max(1, int(round(SKIN_HOLE_CLOSING * max(lab.shape[:2]))))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return (polygon * mask).astype(np.float32)


def face_skin_mask(rgb: np.ndarray, mesh: FaceMesh, *, colour_check: bool = True) -> np.ndarray:
    """Float32 0..1 skin mask at rgb's size (face oval minus features, optionally skin-coloured pixels only)."""
    grid, (left, top, right, bottom) = face_grid(mesh, rgb.shape[:2])
    polygon = skin_polygon_mask(mesh, grid)
    if colour_check:
        small = cv2.resize(rgb[top:bottom, left:right], grid.size, interpolation=cv2.INTER_AREA)
        polygon = skin_colour_mask(to_lab(small), polygon)
    full = np.zeros(rgb.shape[:2], dtype=np.float32)
    full[top:bottom, left:right] = cv2.resize(polygon, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR)
    return full


# -- texture measure -----------------------------------------------------------------------------------------------


def _high_pass(luma: np.ndarray) -> np.ndarray:
    return luma - cv2.GaussianBlur(luma, (0, 0), TEXTURE_SIGMA)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ _LUMA) if rgb.dtype != np.float32 else rgb @ _LUMA


def texture_energy(rgb: np.ndarray, weight: np.ndarray) -> float:
    """Skin texture: weighted energy of luma minus its Gaussian blur (sigma TEXTURE_SIGMA)."""
    return float(np.sum(weight * _high_pass(_luma(rgb)) ** 2))


def texture_share(before: np.ndarray, after: np.ndarray, weight: np.ndarray) -> float:
    """High-frequency energy of the skin in `after` over that in `before` (weight: the skin mask)."""
    energy = texture_energy(before, weight)
    return 1.0 if energy <= 0 else texture_energy(after, weight) / energy


# -- the stage -----------------------------------------------------------------------------------------------------


def retouch(inp: RetouchInput) -> RetouchOutput:
    """Retouch the face of `inp.rgb`; the result keeps at least min_texture_share of the skin's fine texture."""
    inp.check()
    out = _retouch(inp, max_blemishes=MAX_BLEMISHES)
    if out.texture_share < inp.min_texture_share and out.params.get("blemishes_removed"):
        # Only possible when blemish removal alone took too much texture (a face full of "spots"): skip it.
        out = _retouch(inp, max_blemishes=0)
    return out


def _retouch(inp: RetouchInput, *, max_blemishes: int) -> RetouchOutput:
    strength, min_share = float(inp.strength), float(inp.min_texture_share)
    params: dict[str, Any] = {"strength": strength, "min_texture_share": min_share}
    if inp.mesh is None:
        return RetouchOutput(inp.rgb, 1.0, {**params, "applied": False, "skipped": "no_face_mesh"})
    if strength <= 0.0:
        return RetouchOutput(inp.rgb, 1.0, {**params, "applied": False, "skipped": "zero_strength"})
    mesh = inp.mesh
    # Everything happens on the face box at full resolution; masks come from a small grid over the same box.
    grid, (left, top, right, bottom) = face_grid(mesh, inp.rgb.shape[:2])
    crop = inp.rgb[top:bottom, left:right]
    crop_size = (right - left, bottom - top)
    small = cv2.resize(crop, grid.size, interpolation=cv2.INTER_AREA)
    lab_small = to_lab(small)
    polygon = skin_polygon_mask(mesh, grid)
    skin_small = skin_colour_mask(lab_small, polygon)
    matte_crop = inp.matte[top:bottom, left:right].astype(np.float32)
    skin = cv2.resize(skin_small, crop_size, interpolation=cv2.INTER_LINEAR) * matte_crop
    # Measurement weight: the skin mask itself; blending weight: the same, feathered so no seam shows.
    feather = max(1.0, 0.01 * face_width(mesh))
    blend = cv2.GaussianBlur(skin, (0, 0), feather)
    before_energy = texture_energy(crop, skin)

    work = crop.astype(np.float32)
    core = _blemish_core(skin_small, grid, mesh, crop_size)
    work, blemishes = _remove_blemishes(crop, work, core, mesh, strength, max_blemishes)
    work, under_eye = _soften_under_eyes(work, mesh, strength, (left, top), skin)
    work, teeth = _brighten_teeth(work, mesh, strength, (left, top))

    # Smoothing target: an edge-aware base (self-guided filter at half resolution) plus some of the finest grain.
    fw = face_width(mesh)
    half = (max(1, crop_size[0] // 2), max(1, crop_size[1] // 2))
    base_small = cv2.ximgproc.guidedFilter(
        cv2.resize(work, half, interpolation=cv2.INTER_AREA), cv2.resize(work, half, interpolation=cv2.INTER_AREA),
        max(1, round(SMOOTH_RADIUS * fw / 2)), SMOOTH_EPS_LEVELS ** 2)
    base = cv2.resize(base_small, crop_size, interpolation=cv2.INTER_LINEAR)
    grain = work - cv2.GaussianBlur(work, (0, 0), FINE_GRAIN_SIGMA)
    delta = (base + FINE_GRAIN_KEPT * grain - work) * blend[..., None]

    # texture(w) = sum skin * (H0 + w * H1)^2 is a quadratic in the blend weight w (the high-pass is linear), so the
    # largest w <= strength that keeps the stated share is solved exactly instead of searched for.
    h0 = _high_pass(_luma(work))
    h1 = _high_pass(delta @ _LUMA)
    a, b, c = (float(np.sum(skin * h0 * h0)), float(np.sum(skin * h0 * h1)), float(np.sum(skin * h1 * h1)))
    needed = (min_share + TEXTURE_MARGIN) * before_energy
    weight = _largest_weight(a, b, c, needed, strength)
    out = np.clip(np.rint(work + weight * delta), 0, 255).astype(np.uint8)
    share = 1.0 if before_energy <= 0 else texture_energy(out, skin) / before_energy
    result = inp.rgb.copy()
    result[top:bottom, left:right] = out
    params.update({
        "applied": True, "smoothing_weight": round(weight, 4), "texture_share": round(share, 4),
        "blemishes_removed": blemishes, "under_eye_gain": under_eye, "teeth": teeth,
    })
    return RetouchOutput(result, float(share), params)


def _largest_weight(a: float, b: float, c: float, needed: float, cap: float) -> float:
    """Largest w in [0, cap] with a + 2 b w + c w^2 >= needed (0 when even w = 0 falls short)."""
    energy = lambda w: a + 2.0 * b * w + c * w * w  # noqa: E731
    if energy(cap) >= needed:
        return cap
    if energy(0.0) < needed or c <= 0:
        return 0.0
    disc = b * b - c * (a - needed)
    if disc < 0:
        return cap
    return float(np.clip((-b - math.sqrt(disc)) / c, 0.0, cap))


def _blemish_core(skin_small: np.ndarray, grid: Grid, mesh: FaceMesh, crop_size: tuple[int, int]) -> np.ndarray:
    """Where blemishes are searched: deep inside the skin, since the mask border touches hair, brows and the jaw
    line, which are not blemishes (and the local median there mixes skin with them). Holes up to a blemish's size
    are closed first: the skin-colour check itself cuts a dark or red spot out of the skin."""
    max_d = BLEMISH_MAX_DIAMETER * face_width(mesh) * grid.scale
    close = max(1, int(round(max_d)))
    skin = cv2.morphologyEx((skin_small > 0.9).astype(np.uint8), cv2.MORPH_CLOSE,
                            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * close + 1, 2 * close + 1)))
    radius = max(1, int(round(max_d)))
    core = cv2.erode(skin, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return cv2.resize(core, crop_size, interpolation=cv2.INTER_NEAREST)


def _remove_blemishes(crop: np.ndarray, work: np.ndarray, core: np.ndarray, mesh: FaceMesh, strength: float,
                      max_blemishes: int) -> tuple[np.ndarray, int]:
    """Inpaint small, isolated spots that are darker or redder than the skin around them."""
    if max_blemishes <= 0:
        return work, 0
    fw = face_width(mesh)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    # Local median over a window a few spot diameters wide: the skin as it would be without the spot.
    window = int(round(3 * BLEMISH_MAX_DIAMETER * fw)) | 1
    window = max(5, min(window, 255))
    local = np.stack([cv2.medianBlur(cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)[..., i], window) for i in (0, 1)], -1)
    local = local.astype(np.float32)
    local[..., 0] *= 100.0 / 255.0
    signal = (local[..., 0] - lab[..., 0]) + BLEMISH_REDNESS_WEIGHT * (lab[..., 1] - local[..., 1])
    values = signal[core > 0]
    if values.size < 100:
        return work, 0
    spread = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    threshold = max(BLEMISH_MIN_CONTRAST, BLEMISH_MIN_SIGMAS * spread)
    candidates = ((signal > threshold) & (core > 0)).astype(np.uint8)
    count, labels, stats, centres = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    min_d, max_d = BLEMISH_MIN_DIAMETER * fw, BLEMISH_MAX_DIAMETER * fw
    spots = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        diameter = max(w, h)
        # A loose lower bound on size: a real spot's core above threshold is smaller than the spot.
        if diameter > max_d or area < max(2, (0.5 * min_d) ** 2) or max(w, h) > 3 * max(1, min(w, h)):
            continue
        spots.append((i, centres[i], float(signal[labels == i].max())))
    if not spots:
        return work, 0
    points = np.array([s[1] for s in spots])
    isolated = []
    for index, centre, peak in spots:
        near = np.sum(np.hypot(*(points - centre).T) < ISOLATION_RADIUS * fw) - 1
        if near <= ISOLATION_MAX_NEIGHBOURS:
            isolated.append((peak, index))
    isolated.sort(reverse=True)
    chosen = [index for _, index in isolated[:max_blemishes]]
    if not chosen:
        return work, 0
    mask = np.isin(labels, chosen).astype(np.uint8) * 255
    # Grow past the spot's soft rim so the fill starts from clean skin.
    grow = max(1, int(round(0.35 * min_d + 1)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    ys, xs = np.nonzero(mask)
    pad = int(max_d) + 4
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, mask.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, mask.shape[1])
    patch = np.clip(np.rint(work[y0:y1, x0:x1]), 0, 255).astype(np.uint8)
    filled = cv2.inpaint(patch, mask[y0:y1, x0:x1], max(2.0, 0.5 * min_d), cv2.INPAINT_TELEA).astype(np.float32)
    # Strength scales how much of the spot goes; the inpainted fill lacks grain, so a soft edge hides the seam.
    alpha = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32) / 255.0, (0, 0), max(0.7, 0.3 * grow))
    alpha = np.clip(alpha * 1.5, 0.0, 1.0) * min(1.0, 0.5 + strength)
    out = work.copy()
    out[y0:y1, x0:x1] += alpha[..., None] * (filled - work[y0:y1, x0:x1])
    return out, len(chosen)


def _under_eye_polygon(mesh: FaceMesh, contour, eye: tuple[int, int, int, int], top: float,
                       bottom: float) -> np.ndarray:
    """Lower-lid polyline pushed down (perpendicular to the eye axis) by top..bottom eye widths, as a polygon."""
    outer, inner = mesh.points[eye[0], :2], mesh.points[eye[1], :2]
    axis = inner - outer
    width = float(np.linalg.norm(axis)) or 1.0
    down = np.array([-axis[1], axis[0]]) / width
    if down[1] < 0:
        down = -down
    # The lower lid: contour points below the eye axis.
    points = mesh.xy(contour)
    lower = points[((points - outer) @ down) >= -0.02 * width]
    lower = lower[np.argsort((lower - outer) @ (axis / width))]
    upper_edge = lower + top * width * down
    lower_edge = lower[::-1] + bottom * width * down
    return np.concatenate([upper_edge, lower_edge]).astype(np.float32)


def _soften_under_eyes(work: np.ndarray, mesh: FaceMesh, strength: float, origin: tuple[int, int],
                       skin: np.ndarray) -> tuple[np.ndarray, float]:
    """Lift the darkness below each eye toward the cheek just below it, by a bounded gain."""
    height, width = work.shape[:2]
    ew = eye_width(mesh)
    luma = work @ _LUMA
    offset = np.array(origin, dtype=np.float32)
    gains = []
    lift = np.zeros((height, width), dtype=np.float32)
    for contour, eye in ((EYE_A_CONTOUR, EYE_A), (EYE_B_CONTOUR, EYE_B)):
        region = np.zeros((height, width), dtype=np.uint8)
        cheek = np.zeros((height, width), dtype=np.uint8)
        shape = _under_eye_polygon(mesh, contour, eye, UNDER_EYE_TOP, UNDER_EYE_BOTTOM) - offset
        below = _under_eye_polygon(mesh, contour, eye, UNDER_EYE_BOTTOM + 0.15, UNDER_EYE_BOTTOM + 0.55) - offset
        cv2.fillPoly(region, [np.round(shape).astype(np.int32)], 1)
        cv2.fillPoly(cheek, [np.round(below).astype(np.int32)], 1)
        region_w = region * (skin > 0.5)
        cheek_w = cheek * (skin > 0.5)
        if region_w.sum() < 20 or cheek_w.sum() < 20:
            gains.append(1.0)
            continue
        dark, ref = float(np.median(luma[region_w > 0])), float(np.median(luma[cheek_w > 0]))
        gain = 1.0 if dark <= 1 or ref <= dark else min(
            MAX_UNDER_EYE_GAIN, 1.0 + strength * UNDER_EYE_LIFT_SHARE * (ref / dark - 1.0))
        gains.append(round(gain, 4))
        lift = np.maximum(lift, region.astype(np.float32) * (gain - 1.0))
    if not lift.any():
        return work, 1.0
    lift = cv2.GaussianBlur(lift, (0, 0), 0.12 * ew) * np.clip(skin * 2.0, 0.0, 1.0)
    return work * (1.0 + lift[..., None]), float(max(gains))


def _brighten_teeth(work: np.ndarray, mesh: FaceMesh, strength: float,
                    origin: tuple[int, int]) -> tuple[np.ndarray, dict[str, Any]]:
    """Lift and de-yellow the visible teeth a capped amount; a closed mouth is left alone."""
    inner = mesh.xy(LIPS_INNER) - np.array(origin, dtype=np.float32)
    x0, y0 = np.floor(inner.min(axis=0)).astype(int)
    x1, y1 = np.ceil(inner.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, work.shape[1]), min(y1, work.shape[0])
    fw = face_width(mesh)
    area = cv2.contourArea(inner.astype(np.float32))
    if x1 - x0 < 3 or y1 - y0 < 3 or area < MOUTH_OPEN_MIN_AREA * fw * fw:
        return work, {"applied": False}
    region = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillPoly(region, [np.round(inner - [x0, y0]).astype(np.int32)], 1)
    patch = np.clip(work[y0:y1, x0:x1], 0, 255) / 255.0
    lab = cv2.cvtColor(patch.astype(np.float32), cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    teeth = (region > 0) & (lab[..., 0] > TEETH_MIN_L) & (chroma < TEETH_MAX_CHROMA)
    if teeth.sum() < 10:
        return work, {"applied": False}
    soft = cv2.GaussianBlur(teeth.astype(np.float32), (0, 0), max(0.6, 0.004 * fw)) * region
    lift = strength * MAX_TEETH_LIFT_L * (1.0 - lab[..., 0] / 100.0) * soft
    cut = strength * MAX_TEETH_YELLOW_CUT * soft
    lab[..., 0] = np.minimum(lab[..., 0] + lift, 96.0)
    lab[..., 2] = np.where(lab[..., 2] > 0, lab[..., 2] * (1.0 - cut), lab[..., 2])
    out = work.copy()
    out[y0:y1, x0:x1] = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0
    return out, {"applied": True, "pixels": int(teeth.sum()), "max_lift_l": round(float(lift.max()), 2)}
