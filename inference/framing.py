"""Head-and-shoulders framing: one similarity transform per selfie puts every employee's eyes and head size on the brand's numbers."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .brand import BrandSpec, Framing
from .face_detect import Face, Point

# Chin-to-crown head height (hair included) over the distance between the eye centres. Anthropometric tables give
# ~3.6 for the bare skull; measured on the dev faces (mediapipe chin point to the top of the person matte) the
# median is 3.8, which is what a viewer reads as "the head".
HEAD_HEIGHT_PER_EYE_DISTANCE = 3.8
# Drop from the eye line to the nose base over the eye distance on frontal dev faces (median 0.75). A turned
# head shortens the eye distance but not this drop, so the larger of the two estimates is used.
NOSE_DROP_PER_EYE_DISTANCE = 0.75
# Width of the fade, as a fraction of frame height, where the selfie's own border falls inside the frame.
EDGE_FADE_FRACTION = 0.06
# Below this scale the source is shrunk with area averaging first; warpAffine alone would alias.
_PRESHRINK_BELOW = 0.67


def frame_size(brand: BrandSpec) -> tuple[int, int]:
    """Master frame (width, height): the largest rendition width and the brand aspect."""
    width = max(brand.output_sizes)
    return width, max(1, round(width / brand.framing.aspect))


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
    # frame_height x frame_width x 3 uint8; pixels outside the selfie are edge-replicated filler.
    rgb: np.ndarray
    # float32 0..1, exactly 0 outside the selfie and faded to 0 towards the selfie's own border.
    matte: np.ndarray
    plan: FramingPlan


def frame_portrait(
    rgb: np.ndarray, matte: np.ndarray, plan: FramingPlan, *, edge_fade_fraction: float = EDGE_FADE_FRACTION
) -> FramedPortrait:
    """Warp photo and matte together into the frame."""
    if rgb.shape[:2] != matte.shape:
        raise ValueError("photo and matte must have the same height and width")
    matrix = np.array(plan.matrix, dtype=np.float64)
    fade_px = edge_fade_fraction * plan.frame_height
    # The fade is built in source pixels (distance to the photo's border times the scale = distance in the frame),
    # so one warp carries matte and fade together and no distance transform of the frame is needed.
    matte = matte * _border_fade(matte.shape, fade_px / plan.scale)
    if plan.scale < _PRESHRINK_BELOW:
        shrink = plan.scale
        small = (max(1, round(rgb.shape[1] * shrink)), max(1, round(rgb.shape[0] * shrink)))
        rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
        matte = cv2.resize(matte, small, interpolation=cv2.INTER_AREA)
        matrix[:, :2] /= shrink
    size = (plan.frame_width, plan.frame_height)
    framed_rgb = cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    framed_matte = cv2.warpAffine(
        matte.astype(np.float32, copy=False), matrix, size, flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )
    np.clip(framed_matte, 0.0, 1.0, out=framed_matte)
    return FramedPortrait(rgb=framed_rgb, matte=framed_matte, plan=plan)


def _border_fade(shape: tuple[int, int], width_px: float) -> np.ndarray:
    """0 at the image border rising smoothly to 1 at `width_px` inside it."""
    height, width = shape
    width_px = max(width_px, 1.0)
    ramp_x = np.minimum(np.arange(width) + 0.5, width - 0.5 - np.arange(width)) / width_px
    ramp_y = np.minimum(np.arange(height) + 0.5, height - 0.5 - np.arange(height)) / width_px
    # Pixels at the very border are 0.5 px in; subtract that so the outermost row is exactly transparent.
    ramp = np.clip(np.minimum.outer(ramp_y, ramp_x) - 0.5 / width_px, 0.0, 1.0).astype(np.float32)
    return ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: no visible crease where the fade starts or ends
