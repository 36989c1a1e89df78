"""Head-and-shoulders framing: one similarity transform per selfie puts every employee's eyes and head size on the
brand's numbers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .brand import Framing
from .face_detect import Face, Point

# Chin-to-crown head height (hair included) over the distance between the eye centres, what a viewer reads as "the
# head" (anthropometric tables give ~3.6 for the bare skull). Set on half A (benchmarks/dev_split.py;
# benchmarks/calibration.py: mediapipe chin point to the top of today's person matte over the face box): median 3.90
# over its 17 whole heads (3.18..4.49). Kept at 3.8, the first measurement's median on all dev faces: 2.5 % apart,
# and the limits that count in head heights (MAX_TIGHTEST_BOTTOM_EXTENSION, finishing's fractions) were set with it.
# Half B, held out: median 3.90; 13 of its 15 whole heads within 10 % of 3.8.
HEAD_HEIGHT_PER_EYE_DISTANCE = 3.8
# Drop from the eye line to the nose base over the eye distance on frontal faces (|yaw| < 10). Set on half A
# (benchmarks/dev_split.py; benchmarks/calibration.py): median 0.758 over 17 faces (0.68..0.89). Half B, held out:
# median 0.73, all 19 within 10 % of 0.75. A turned head shortens the eye distance but not this drop, so the larger
# of the two estimates is used.
NOSE_DROP_PER_EYE_DISTANCE = 0.75
# Below this scale the source is shrunk with area averaging first; warpAffine alone would alias.
_PRESHRINK_BELOW = 0.67


def estimate_head_height(face: Face) -> float:
    """Chin-to-crown height in source pixels from the 5 landmarks (robust to roll, and to moderate yaw and pitch)."""
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    eye_distance = math.hypot(rx - lx, ry - ly)
    if eye_distance <= 0:
        raise ValueError("the face's eye centres coincide; cannot measure head size")
    mx, my = face.eye_midpoint
    nx, ny = face.nose
    # Perpendicular distance from the eye line to the nose base: a head turned sideways moves the nose along
    # the eye line, not across it.
    nose_drop = abs((rx - lx) * (ny - my) - (ry - ly) * (nx - mx)) / eye_distance
    unit = max(eye_distance, nose_drop / NOSE_DROP_PER_EYE_DISTANCE)
    return HEAD_HEIGHT_PER_EYE_DISTANCE * unit


@dataclass(frozen=True)
class FramingPlan:
    frame_width: int
    frame_height: int
    # 2x3 affine matrix from source pixels to frame pixels.
    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    scale: float
    rotation_degrees: float
    eye_midpoint_source: Point
    eye_target: Point
    head_height_source: float
    framing: Framing

    def as_params(self) -> dict[str, Any]:
        return {
            "aspect": self.framing.aspect,
            "eye_line": self.framing.eye_line,
            "head_height": self.framing.head_height,
            "frame_width": self.frame_width,
            "frame_height": self.frame_height,
            "scale": round(self.scale, 5),
            "rotation_degrees": round(self.rotation_degrees, 3),
            "eye_midpoint_source": [round(v, 2) for v in self.eye_midpoint_source],
            "head_height_source_px": round(self.head_height_source, 2),
        }


    def source_region(self, image_width: int, image_height: int, *, margin: float = 0.04) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the photo area that lands in the frame, plus a margin, clipped to the photo.

        Stages that only matter inside the frame (segmentation) run on this crop: cheaper, and the person fills it.
        """
        matrix = np.array(self.matrix, dtype=np.float64)
        inverse = cv2.invertAffineTransform(matrix)
        pad_x, pad_y = margin * self.frame_width, margin * self.frame_height
        corners = np.array(
            [[-pad_x, -pad_y, 1.0], [self.frame_width + pad_x, -pad_y, 1.0],
             [-pad_x, self.frame_height + pad_y, 1.0], [self.frame_width + pad_x, self.frame_height + pad_y, 1.0]]
        )
        source = corners @ inverse.T
        left = int(np.clip(np.floor(source[:, 0].min()), 0, image_width))
        right = int(np.clip(np.ceil(source[:, 0].max()), 0, image_width))
        top = int(np.clip(np.floor(source[:, 1].min()), 0, image_height))
        bottom = int(np.clip(np.ceil(source[:, 1].max()), 0, image_height))
        return left, top, right, bottom


def plan_framing(face: Face, framing: Framing, size: tuple[int, int]) -> FramingPlan:
    """Rotation levels the eyes, scale sets the head height, translation puts the eye midpoint on the eye line."""
    width, height = size
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    angle = math.atan2(ry - ly, rx - lx)
    head = estimate_head_height(face)
    scale = framing.head_height * height / head
    cos_a, sin_a = math.cos(angle) * scale, math.sin(angle) * scale
    mx, my = face.eye_midpoint
    tx, ty = width / 2.0, framing.eye_line * height
    # p' = s * R(-angle) * (p - eye_midpoint) + eye_target
    matrix = (
        (cos_a, sin_a, tx - (cos_a * mx + sin_a * my)),
        (-sin_a, cos_a, ty - (-sin_a * mx + cos_a * my)),
    )
    return FramingPlan(
        frame_width=width,
        frame_height=height,
        matrix=matrix,
        scale=scale,
        rotation_degrees=math.degrees(angle),
        eye_midpoint_source=(mx, my),
        eye_target=(tx, ty),
        head_height_source=head,
        framing=framing,
    )


@dataclass(frozen=True)
class FramedPortrait:
    # frame_height x frame_width x 3 uint8; past the selfie's border, the continuation of its edge (frame_subject).
    rgb: np.ndarray
    # float32 0..1: the person's matte, continued past the selfie's border and dissolving further out.
    matte: np.ndarray
    plan: FramingPlan
    # float32 0..1: 1 where the pixel comes from the photo itself, 0 where it was invented by extending the body
    # past the selfie's border; later stages keep their hands off the invented part.
    inside: np.ndarray


# -- framing variants ----------------------------------------------------------------------------------------

# Variants the finisher knows by name. A close-up enlarges the head by this factor and lowers the eye line so the
# crown keeps the same headroom; the square avatar is sized for round crops in chat apps and directories
# (the head fills half the square, the eyes just above the middle, so a circular mask never clips the hair).
CLOSE_UP_HEAD_FACTOR = 1.3
SQUARE_AVATAR = Framing(aspect=1.0, eye_line=0.45, head_height=0.5)
# Share of the head height that lies above the eye line (crown to eyes), measured on the dev faces' mattes.
CROWN_SHARE_ABOVE_EYES = 0.5
FRAMING_VARIANTS: tuple[str, ...] = ("head_and_shoulders", "close_up", "square_avatar")


def framing_variant(base: Framing, name: str) -> Framing:
    """The brand framing (head_and_shoulders) or one derived from it; every result passes Framing.check()."""
    if name == "head_and_shoulders":
        return base
    if name == "close_up":
        head = min(0.8, base.head_height * CLOSE_UP_HEAD_FACTOR)
        # Keep the headroom above the crown: the eyes move down by the extra head above them.
        eye_line = min(0.6, base.eye_line + CROWN_SHARE_ABOVE_EYES * (head - base.head_height))
        return Framing(aspect=base.aspect, eye_line=eye_line, head_height=head)
    if name == "square_avatar":
        return SQUARE_AVATAR
    raise ValueError(f"unknown framing variant {name!r}; known: {', '.join(FRAMING_VARIANTS)}")


def output_size(framing: Framing, long_side: int) -> tuple[int, int]:
    """(width, height) of a frame with the framing's aspect whose longer side is long_side."""
    if long_side < 16:
        raise ValueError(f"long_side {long_side} is too small for a headshot")
    if framing.aspect <= 1.0:
        return max(1, round(long_side * framing.aspect)), long_side
    return long_side, max(1, round(long_side / framing.aspect))


def resize_plan(plan: FramingPlan, size: tuple[int, int]) -> FramingPlan:
    """The same framing for a frame of another size (the working copy before upscaling)."""
    width, height = size
    fx, fy = width / plan.frame_width, height / plan.frame_height
    (a, b, c), (d, e, f) = plan.matrix
    return FramingPlan(
        frame_width=width, frame_height=height,
        matrix=((a * fx, b * fx, c * fx), (d * fy, e * fy, f * fy)),
        scale=plan.scale * fy, rotation_degrees=plan.rotation_degrees,
        eye_midpoint_source=plan.eye_midpoint_source,
        eye_target=(plan.eye_target[0] * fx, plan.eye_target[1] * fy),
        head_height_source=plan.head_height_source, framing=plan.framing,
    )


# -- tighter framing where the selfie ends inside the frame --------------------------------------------------

# The head may grow by up to this factor over the brand's head_height (eye line kept) to push the selfie's
# border out of the frame. 25% is what a viewer of a team page doesn't read as "a different crop".
MAX_TIGHTEN = 1.25
TIGHTEN_STEPS = 11
# Cost of tightening, in frame-area fractions of "body to invent" per unit of head growth: +25% head is worth it
# only if it saves at least 5% of the frame from being extended.
TIGHTEN_COST = 0.2
# Matte value above which a pixel on the selfie's border counts as the person being cut by it.
PERSON_AT_BORDER = 0.5
# Resolution of the exposure estimate (grid rows over the frame height): cheap and smooth enough for a choice.
_EXPOSURE_GRID_ROWS = 64


@dataclass(frozen=True)
class FramingChoice:
    plan: FramingPlan
    # Head-height factor applied over the requested framing (1.0 = not tightened).
    tighten: float
    # Fraction of the frame that shows body beyond the selfie's border, before and after tightening.
    exposure_before: float
    exposure_after: float

    @property
    def tightened(self) -> bool:
        return self.tighten > 1.0

    def as_measurements(self) -> dict[str, Any]:
        return {
            "framing_tightened": self.tightened,
            "framing_tighten_factor": round(self.tighten, 4),
            "framing_exposure_before": round(self.exposure_before, 4),
            "framing_exposure_after": round(self.exposure_after, 4),
        }


def person_exposure(plan: FramingPlan, source_matte: np.ndarray) -> float:
    """Fraction of the frame that lies past the selfie's border next to the person (body that must be invented)."""
    height, width = source_matte.shape
    step = plan.frame_height / _EXPOSURE_GRID_ROWS
    ys, xs = np.mgrid[step / 2:plan.frame_height:step, step / 2:plan.frame_width:step]
    inverse = cv2.invertAffineTransform(np.array(plan.matrix, dtype=np.float64))
    sx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    sy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    outside = (sx < 0) | (sx > width - 1) | (sy < 0) | (sy > height - 1)
    if not outside.any():
        return 0.0
    # Past the border the extension continues the nearest border pixel: a person there means invented body.
    bx = np.clip(np.rint(sx[outside]), 0, width - 1).astype(np.intp)
    by = np.clip(np.rint(sy[outside]), 0, height - 1).astype(np.intp)
    return float((source_matte[by, bx] > PERSON_AT_BORDER).sum() / xs.size)


def choose_framing(face: Face, framing: Framing, size: tuple[int, int], source_matte: np.ndarray) -> FramingChoice:
    """The brand plan, or a tighter one (head up to MAX_TIGHTEN larger, eye line exact) where the selfie's edge
    shows."""
    base = plan_framing(face, framing, size)
    before = person_exposure(base, source_matte)
    src_h, src_w = source_matte.shape

    def smear(plan: FramingPlan) -> float:
        return SMEAR_COST * max(0.0, bottom_extension(plan, src_w, src_h) - MAX_BOTTOM_EXTENSION)

    best, best_cost, best_exposure, best_factor = base, before + smear(base), before, 1.0
    if before > 0.0:
        for factor in np.linspace(1.0, MAX_TIGHTEN, TIGHTEN_STEPS)[1:]:
            head = min(0.8, framing.head_height * float(factor))
            candidate = plan_framing(face, Framing(framing.aspect, framing.eye_line, head), size)
            exposure = person_exposure(candidate, source_matte)
            cost = exposure + TIGHTEN_COST * (head / framing.head_height - 1.0) + smear(candidate)
            if cost < best_cost - 1e-9:
                best, best_cost, best_exposure, best_factor = candidate, cost, exposure, head / framing.head_height
            if exposure == 0.0 and smear(candidate) == 0.0:
                break  # tighter still only costs
    # best.framing is the framing actually used (its head_height includes the tightening).
    return FramingChoice(plan=best, tighten=float(best_factor), exposure_before=before, exposure_after=best_exposure)


# -- extending the selfie past its border --------------------------------------------------------------------

# Past the selfie's bottom or side border the body is continued from its last rows (clothing stretched outwards,
# blurred more the further it goes, so fabric texture doesn't streak) and dissolves into the backdrop: fully
# opaque for EXTENSION_HOLD, then a smoothstep fade over EXTENSION_FADE (both fractions of frame height). Long and
# gentle: at 2048 px the fade is ~370 px, far below what reads as an edge. A crown cut by the top border gets
# no hold and a shorter fade (TOP_EXTENSION_FADE): a long stretched crown looks like a chimney.
EXTENSION_HOLD = 0.03
EXTENSION_FADE = 0.18
TOP_EXTENSION_FADE = 0.10
# Rows averaged to make the stretched edge (fraction of frame height): sequins or JPEG noise on one row would streak.
EXTENSION_EDGE_ROWS = 0.015
# The last rows of the photo cross-fade into the continuation over this fraction of frame height, so fabric
# texture softens gradually instead of stopping on a line.
EXTENSION_BLEND = 0.025
# Gaussian sigma of the stretch blur: a floor (fraction of frame height) plus this much per pixel of distance.
EXTENSION_BLUR_FLOOR = 0.004
EXTENSION_BLUR_PER_PX = 0.8
# The extension darkens slightly with distance, as light falls off on a real body away from the key light.
EXTENSION_DARKEN = 0.10
# A crown continued past the top border is rounded off: each run of hair on the border narrows as a half ellipse
# whose height is this share of the top fade (TOP_EXTENSION_FADE), so the rounding shows while the hair is still
# mostly opaque. Blurred sideways like the body, it would spread into a band wider than the head: the "smeared
# band above the hair"; as tall as the fade, it would stay a rectangle until it has faded.
TOP_CROWN_SHARE = 0.6
_EXTENSION_LEVELS = 6


def frame_subject(rgb: np.ndarray, matte: np.ndarray, plan: FramingPlan) -> FramedPortrait:
    """Warp photo and matte into the frame, extending the body wherever the selfie ends inside it (no hard line).

    Nothing fades at the selfie's border itself: the photo is first padded with a stretched, progressively blurred
    continuation of its edge rows whose matte dissolves gently, so the border is invisible and only the far end of
    the continuation fades.
    """
    if rgb.shape[:2] != matte.shape:
        raise ValueError("photo and matte must have the same height and width")
    height, width = matte.shape
    matrix = np.array(plan.matrix, dtype=np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    pad = 2.0 + 4.0 / plan.scale  # interpolation support, in source pixels
    corners = np.array([[0, 0, 1.0], [plan.frame_width, 0, 1.0], [0, plan.frame_height, 1.0],
                        [plan.frame_width, plan.frame_height, 1.0]]) @ inverse.T
    left, top = math.floor(corners[:, 0].min() - pad), math.floor(corners[:, 1].min() - pad)
    right, bottom = math.ceil(corners[:, 0].max() + pad), math.ceil(corners[:, 1].max() + pad)
    cl, ct, cr, cb = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if cr - cl < 2 or cb - ct < 2:
        raise ValueError("the framing puts the selfie outside the frame")
    crop_rgb = rgb[ct:cb, cl:cr]
    crop_matte = matte[ct:cb, cl:cr].astype(np.float32, copy=False)
    pads = {"top": ct - top, "bottom": bottom - cb, "left": cl - left, "right": right - cr}
    unit = plan.frame_height / plan.scale  # one frame height in source pixels
    ext_rgb, ext_matte = _extend(crop_rgb, crop_matte, pads, unit)
    origin_x, origin_y = cl - pads["left"], ct - pads["top"]
    matrix[:, 2] += matrix[:, 0] * origin_x + matrix[:, 1] * origin_y
    photo = np.zeros(ext_matte.shape, np.float32)
    photo[pads["top"]:pads["top"] + crop_matte.shape[0], pads["left"]:pads["left"] + crop_matte.shape[1]] = 1.0
    framed_rgb, framed_matte, matrix = _warp_to_frame(ext_rgb, ext_matte, matrix, plan,
                                                      matte_border=cv2.BORDER_REPLICATE)
    if plan.scale < _PRESHRINK_BELOW:  # the warp matrix is now for the pre-shrunk photo
        photo = cv2.resize(photo, _shrunk_size(ext_rgb, plan.scale), interpolation=cv2.INTER_AREA)
    size = (plan.frame_width, plan.frame_height)
    inside = cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=0.0)
    return FramedPortrait(rgb=framed_rgb, matte=framed_matte, plan=plan, inside=inside)


def _shrunk_size(image: np.ndarray, shrink: float) -> tuple[int, int]:
    return max(1, round(image.shape[1] * shrink)), max(1, round(image.shape[0] * shrink))


def _warp_to_frame(rgb: np.ndarray, matte: np.ndarray, matrix: np.ndarray, plan: FramingPlan, *,
                   matte_border: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp photo and matte into the frame; a strong reduction is pre-shrunk with area averaging first (no aliasing).

    Returns the framed photo, the framed matte (clipped to 0..1) and the matrix used (for the pre-shrunk photo).
    """
    matrix = matrix.copy()
    if plan.scale < _PRESHRINK_BELOW:
        small = _shrunk_size(rgb, plan.scale)
        rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
        matte = cv2.resize(matte, small, interpolation=cv2.INTER_AREA)
        matrix[:, :2] /= plan.scale
    size = (plan.frame_width, plan.frame_height)
    framed_rgb = cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    framed_matte = cv2.warpAffine(matte, matrix, size, flags=cv2.INTER_LINEAR, borderMode=matte_border,
                                  borderValue=0.0)
    np.clip(framed_matte, 0.0, 1.0, out=framed_matte)
    return framed_rgb, framed_matte, matrix


def _extend(rgb: np.ndarray, matte: np.ndarray, pads: dict[str, int], unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Pad each side by pads[side] source pixels with the stretched, blurred, dissolving continuation of its edge."""
    image = rgb.astype(np.float32)
    alpha = matte
    # np.rot90 turns each side into the bottom, so one routine extends all four.
    for side, turns in (("bottom", 0), ("top", 2), ("left", 1), ("right", 3)):
        length = int(pads[side])
        if length <= 0:
            continue
        hold, fade = (0.0, TOP_EXTENSION_FADE) if side == "top" else (EXTENSION_HOLD, EXTENSION_FADE)
        image, alpha = np.rot90(image, turns), np.rot90(alpha, turns)
        block_rgb, block_alpha = _extension_block(image, alpha, length, unit, hold, fade, crown=side == "top")
        image = np.concatenate([image, block_rgb], axis=0)
        alpha = np.concatenate([alpha, block_alpha], axis=0)
        image, alpha = np.rot90(image, -turns), np.rot90(alpha, -turns)
    out_rgb = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out_rgb), np.ascontiguousarray(alpha, dtype=np.float32)


def _blurred_row(row: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.5:
        return row
    return cv2.GaussianBlur(row[None], (0, 0), sigmaX=sigma, sigmaY=1e-3, borderType=cv2.BORDER_REPLICATE)[0]


def _person_runs(profile: np.ndarray) -> np.ndarray:
    """The border's alpha profile with only the runs where the person really crosses the border (> PERSON_AT_BORDER
    somewhere): a few faint pixels of a soft edge touching the border are not a body to continue, and stretched out
    over a tenth of the frame they become a glow above the head."""
    alive = profile > 0.0
    if not alive.any():
        return profile
    starts = np.flatnonzero(alive & ~np.concatenate([[False], alive[:-1]]))
    ends = np.flatnonzero(alive & ~np.concatenate([alive[1:], [False]])) + 1
    out = np.zeros_like(profile)
    for start, end in zip(starts, ends, strict=True):
        if profile[start:end].max() > PERSON_AT_BORDER:
            out[start:end] = profile[start:end]
    return out


def _unpremultiply(premultiplied: np.ndarray, alpha: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Colour = premultiplied colour / alpha where there is alpha to speak of; the plain colour elsewhere (unseen)."""
    safe = alpha > 1e-3
    out = fallback.copy()
    out[safe] = premultiplied[safe] / alpha[safe, None]
    return out


def _crown_row(profile: np.ndarray, height: float) -> np.ndarray:
    """The profile at `height` (0..1 of the crown) up a half ellipse standing on each of its runs."""
    alive = profile > 0.0
    if not alive.any() or height <= 0.0:
        return profile
    if height >= 1.0:
        return np.zeros_like(profile)
    starts = np.flatnonzero(alive & ~np.concatenate([[False], alive[:-1]]))
    ends = np.flatnonzero(alive & ~np.concatenate([alive[1:], [False]])) + 1
    out = np.zeros_like(profile)
    shrink = math.sqrt(1.0 - height * height)
    for start, end in zip(starts, ends, strict=True):
        centre, half = (start + end - 1) / 2.0, (end - start) / 2.0 * shrink
        lo, hi = int(math.ceil(centre - half)), int(math.floor(centre + half)) + 1
        out[lo:hi] = profile[lo:hi]
    return out


def _extension_block(image: np.ndarray, alpha: np.ndarray, length: int, unit: float, hold: float,
                     fade: float, *, crown: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """`length` rows continuing the bottom edge of image/alpha (float32, source pixels; unit = frame height).

    Also cross-fades the image's own last rows into the continuation, in place (image is a fresh float copy).
    """
    rows = max(1, min(image.shape[0], round(EXTENSION_EDGE_ROWS * unit)))
    floor = EXTENSION_BLUR_FLOOR * unit
    edge_alpha = _person_runs(alpha[-rows:].mean(axis=0))          # W
    # The continuation's colour is the person's own: alpha-weighted (premultiplied) averages and blurs. A plain
    # blur would carry the old background next to the person (a dark wall beside the hair) wherever the blurred
    # alpha spreads, a dark smear on the new backdrop.
    weighted_rgb = (image[-rows:] * alpha[-rows:, :, None]).mean(axis=0)
    edge_rgb = _unpremultiply(_blurred_row(weighted_rgb, floor), _blurred_row(edge_alpha, floor),
                              _blurred_row(image[-rows:].mean(axis=0), floor))      # W x 3
    # A handful of blur levels, linearly blended per row: a continuous cone of blur for six 1-D blurs.
    distances = np.arange(1, length + 1, dtype=np.float32)
    # Past hold + fade the continuation is transparent: the levels span only the visible part (np.interp below
    # holds the last level beyond it), so a long pad doesn't leave the whole fade between two levels.
    level_d = np.linspace(0.0, float(min(length, (hold + fade) * unit)), _EXTENSION_LEVELS)
    premultiplied = edge_rgb * edge_alpha[:, None]
    stack_rgb = np.stack([
        _unpremultiply(_blurred_row(premultiplied, EXTENSION_BLUR_PER_PX * d),
                       _blurred_row(edge_alpha, EXTENSION_BLUR_PER_PX * d),
                       _blurred_row(edge_rgb, EXTENSION_BLUR_PER_PX * d))
        for d in level_d])
    if crown:  # rounded off, softened only by the floor blur
        stack_alpha = np.stack([_blurred_row(_crown_row(edge_alpha, d / max(TOP_CROWN_SHARE * fade * unit, 1.0)), floor)
                                for d in level_d])
    else:
        stack_alpha = np.stack([_blurred_row(edge_alpha, EXTENSION_BLUR_PER_PX * d) for d in level_d])
    position = np.interp(distances, level_d, np.arange(_EXTENSION_LEVELS, dtype=np.float32))
    low = np.minimum(np.floor(position).astype(np.intp), _EXTENSION_LEVELS - 2)
    t = (position - low)[:, None]
    block_rgb = stack_rgb[low] * (1.0 - t[..., None]) + stack_rgb[low + 1] * t[..., None]
    block_alpha = stack_alpha[low] * (1.0 - t) + stack_alpha[low + 1] * t
    ramp = np.clip((distances / unit - hold) / fade, 0.0, 1.0)
    dissolve = 1.0 - ramp * ramp * (3.0 - 2.0 * ramp)
    fall = 1.0 - EXTENSION_DARKEN * np.clip(distances / unit / (hold + fade), 0.0, 1.0)
    block_rgb *= fall[:, None, None]
    block_alpha *= dissolve[:, None]
    # Cross-fade the photo's last rows into the (unblurred-floor) continuation: texture softens, never stops.
    blend = min(image.shape[0], max(1, round(EXTENSION_BLEND * unit)))
    w = np.linspace(0.0, 1.0, blend + 1, dtype=np.float32)[1:]
    w = (w * w * (3.0 - 2.0 * w))[:, None, None]
    image[-blend:] = image[-blend:] * (1.0 - w) + edge_rgb[None] * w
    return block_rgb.astype(np.float32), block_alpha.astype(np.float32)


# -- how much body a framing must invent below the photo -----------------------------------------------------

# Share of frame height a framing may extend the body below the selfie's bottom edge (at its worse bottom corner)
# and still look photographed: for EXTENSION_HOLD (3%) the continuation is an opaque copy of the last rows, which
# reads as clothing; past it the stretched, blurred, dissolving body is the smear in the bottom corners.
MAX_BOTTOM_EXTENSION = EXTENSION_HOLD
# Past this even the tightest framing (a close-up, tightened by MAX_TIGHTEN) would invent a band of body under the
# chin: the photo is refused with a tip. Set on the calibration half of the dev people (benchmarks/occluders.
# CALIBRATION_PEOPLE: 17 photos, and copies of angelina/1 and katy_perry/1 cut 0.05..0.5 head heights below the
# chin), against what the close-up then invents (finishing's invented_body_share): jack_dorsey/1 needs 0.058 and
# invents 5% of the body shown (kept); angelina/1 cut 0.15 below the chin needs 0.074 and invents 13%, katy_perry/1
# cut there 0.101 (8%), jack_dorsey/4 (cut at the collar) 0.116 (15%): refused. Every copy cut 0.3 or more below
# the chin needs 0 and invents under 2.5%. On the check half only scarlett/7 (cut at the neck, 0.147) is refused.
MAX_TIGHTEST_BOTTOM_EXTENSION = 0.065
# choose_framing()'s cost per unit of bottom extension past MAX_BOTTOM_EXTENSION: far above TIGHTEN_COST, so a
# framing is tightened (within MAX_TIGHTEN) until the smear-prone band is gone whenever it can be.
SMEAR_COST = 4.0


def bottom_extension(plan: FramingPlan, width: int, height: int) -> float:
    """Fraction of the frame's height that lies below the photo's bottom edge, at the worse of the frame's two
    bottom corners (0 = the photo reaches the frame's bottom everywhere). Geometry only: no matte needed, so
    selfie QC and variant planning can ask it before anything is rendered; below a head the body continues, so
    this is body the framing would have to invent."""
    matrix = np.array(plan.matrix, dtype=np.float64)
    (x0, y0), (x1, y1) = (matrix @ np.array([0.0, height, 1.0])), (matrix @ np.array([float(width), height, 1.0]))
    if abs(x1 - x0) < 1e-9:
        return 1.0
    slope = (y1 - y0) / (x1 - x0)
    rows = [y0 + slope * (x - x0) for x in (0.0, float(plan.frame_width))]
    return float(np.clip((plan.frame_height - min(rows)) / plan.frame_height, 0.0, 1.0))
