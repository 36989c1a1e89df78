"""Control images (canny, face/pose landmarks, depth) and the masks that say where diffusion may paint, from the
framed selfie."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face_mesh import (
    BROW_A,
    BROW_B,
    EYE_A_CONTOUR,
    EYE_B_CONTOUR,
    FACE_OVAL,
    LEFT_IRIS,
    LIPS_INNER,
    LIPS_OUTER,
    RIGHT_IRIS,
    FaceMesh,
)

CONTROL_KINDS = ("landmarks", "depth", "canny")
# Canny thresholds around the median grey level (the usual "auto canny"): 0.66x and 1.33x of it.
CANNY_LOW, CANNY_HIGH = 0.66, 1.33
# Edges count only where the person is (matte above this, grown by CANNY_GROW of the frame height): the selfie's
# own background is replaced by the brand's, so its clutter must not steer the generation.
CANNY_MATTE = 0.5
CANNY_GROW = 0.02
# InstantID / OpenPose colours for the five face keypoints (image-left eye, image-right eye, nose, mouth corners).
KEYPOINT_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255))
# Pseudo-depth: the body is a slab that bulges with the distance from its outline (saturating at BODY_BULGE of the
# frame height); the face sits FACE_LIFT nearer than the body and carries the mesh's own relief.
BODY_BULGE = 0.08
FACE_LIFT = 0.25
# Clothing: the person below the chin, at least CLOTHING_BELOW_CHIN of the head height under it (the neck stays the
# employee's own), grown by CLOTHING_FEATHER of the frame height so the new collar blends in.
CLOTHING_BELOW_CHIN = 0.12
CLOTHING_FEATHER = 0.015


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the generation frame: the five keypoints and the chin line, plus the mesh if found."""

    keypoints: np.ndarray          # (5, 2): image-left eye, image-right eye, nose, mouth left, mouth right
    chin_y: float
    head_height: float
    mesh: FaceMesh | None = None


def canny_image(rgb: np.ndarray, matte: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    median = float(np.median(grey[matte > CANNY_MATTE])) if (matte > CANNY_MATTE).any() else float(np.median(grey))
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), CANNY_LOW * median, max(CANNY_HIGH * median, 1.0))
    grow = max(1, int(round(CANNY_GROW * rgb.shape[0])))
    person = cv2.dilate((matte > CANNY_MATTE).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    edges = np.where(person > 0, edges, 0).astype(np.uint8)
    return np.repeat(edges[..., None], 3, axis=2)


def landmark_image(geometry: FaceGeometry, size: tuple[int, int]) -> np.ndarray:
    """Face landmarks on black: mesh contours in white (when the mesh was found) and InstantID's five keypoints."""
    width, height = size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    thickness = max(1, round(height / 256))
    if geometry.mesh is not None:
        for contour in (FACE_OVAL, EYE_A_CONTOUR, EYE_B_CONTOUR, BROW_A, BROW_B, LIPS_OUTER, LIPS_INNER):
            points = np.round(geometry.mesh.xy(contour)).astype(np.int32)
            cv2.polylines(canvas, [points], True, (255, 255, 255), thickness, cv2.LINE_AA)
        for iris in (LEFT_IRIS, RIGHT_IRIS):
            cx, cy = geometry.mesh.xy(iris).mean(axis=0)
            cv2.circle(canvas, (int(round(cx)), int(round(cy))), thickness * 2, (255, 255, 255), -1)
    points = np.round(geometry.keypoints).astype(np.int32)
    nose = tuple(points[2])
    for point, colour in zip(points, KEYPOINT_COLOURS, strict=True):
        if tuple(point) != nose:
            cv2.line(canvas, nose, tuple(point), tuple(int(c * 0.6) for c in colour), thickness * 2, cv2.LINE_AA)
        cv2.circle(canvas, tuple(point), thickness * 3, colour, -1)
    return canvas


def depth_image(matte: np.ndarray, geometry: FaceGeometry) -> np.ndarray:
    """Pseudo-depth (near = bright, the depth ControlNets' convention) with no depth network: none runs offline.

    The body is the matte's distance transform (round in the middle, flat at the outline); the face is lifted
    and shaped by the face mesh's relative z (mediapipe's weak-perspective depth), splatted and filled by
    normalised convolution. It gives the model the head-in-front-of-shoulders layout, not metric depth.
    """
    height, width = matte.shape
    person = (matte > 0.5).astype(np.uint8)
    body = cv2.distanceTransform(person, cv2.DIST_L2, 3) if person.any() else np.zeros_like(matte)
    bulge = max(1.0, BODY_BULGE * height)
    depth = np.minimum(body / bulge, 1.0).astype(np.float32) * (1.0 - FACE_LIFT)
    if geometry.mesh is not None:
        points = geometry.mesh.points
        xy = np.round(points[:, :2]).astype(np.int64)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
        z = -points[:, 2]  # mediapipe: more negative z = nearer the camera
        span = float(np.ptp(z[inside])) if inside.any() else 0.0
        if span > 0:
            nearness = (z - z[inside].min()) / span
            sums = np.zeros((height, width), np.float32)
            weights = np.zeros((height, width), np.float32)
            sums[xy[inside, 1], xy[inside, 0]] = nearness[inside]
            weights[xy[inside, 1], xy[inside, 0]] = 1.0
            radius = max(3, int(round(geometry.head_height * 0.08))) | 1
            filled = cv2.GaussianBlur(sums, (radius * 2 + 1, radius * 2 + 1), 0) / np.maximum(
                cv2.GaussianBlur(weights, (radius * 2 + 1, radius * 2 + 1), 0), 1e-6)
            hull = np.zeros((height, width), np.uint8)
            cv2.fillConvexPoly(hull, cv2.convexHull(xy[inside].astype(np.int32)), 1)
            face = (1.0 - FACE_LIFT) + FACE_LIFT * np.clip(filled, 0.0, 1.0)
            depth = np.where(hull > 0, np.maximum(depth, face), depth)
    else:
        # No mesh: a smooth ellipsoid over the face keypoints stands in for the face relief.
        (lx, ly), (rx, ry) = geometry.keypoints[0], geometry.keypoints[1]
        cx, cy = (lx + rx) / 2.0, (ly + ry) / 2.0 + 0.1 * geometry.head_height
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        a, b = 0.38 * geometry.head_height, 0.55 * geometry.head_height
        bump = np.clip(1.0 - ((xs - cx) / max(a, 1.0)) ** 2 - ((ys - cy) / max(b, 1.0)) ** 2, 0.0, 1.0)
        depth = np.where(bump > 0, np.maximum(depth, (1.0 - FACE_LIFT) + FACE_LIFT * np.sqrt(bump)), depth)
    grey = np.round(np.clip(depth, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def clothing_mask(matte: np.ndarray, geometry: FaceGeometry) -> np.ndarray:
    """0..1 mask of the clothing: the person below the chin (plus a margin), feathered at the top."""
    height, width = matte.shape
    top = geometry.chin_y + CLOTHING_BELOW_CHIN * geometry.head_height
    rows = np.arange(height, dtype=np.float32)[:, None]
    feather = max(1.0, CLOTHING_FEATHER * height)
    below = np.clip((rows - top) / feather, 0.0, 1.0)
    return (np.clip(matte, 0.0, 1.0) * below).astype(np.float32)


def person_mask(matte: np.ndarray, grow: float = 0.02) -> np.ndarray:
    """The person grown by `grow` of the frame height: where a portrait pass may repaint (hair edges included)."""
    pixels = max(1, int(round(grow * matte.shape[0])))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return np.clip(cv2.dilate((matte > 0.1).astype(np.float32), kernel), 0.0, 1.0)


def face_mask(geometry: FaceGeometry, size: tuple[int, int]) -> np.ndarray:
    """0..1 mask of the face (mesh oval, or an ellipse over the keypoints): what "keep the face" mode protects."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    if geometry.mesh is not None:
        cv2.fillPoly(mask, [np.round(geometry.mesh.xy(FACE_OVAL)).astype(np.int32)], 1)
    else:
        (lx, ly), (rx, ry) = geometry.keypoints[0], geometry.keypoints[1]
        centre = (int(round((lx + rx) / 2)), int(round((ly + ry) / 2 + 0.12 * geometry.head_height)))
        axes = (max(1, int(0.36 * geometry.head_height)), max(1, int(0.5 * geometry.head_height)))
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    feather = max(1, int(round(0.01 * height))) * 2 + 1
    return cv2.GaussianBlur(mask.astype(np.float32), (feather, feather), 0)
