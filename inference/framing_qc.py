"""Framing QC: what the framing did at the selfie's own border, measured on the framed matte. How hard the border
shows (hard_edge_score) and how much of the person shown was invented past it (invented_body_share); the finisher
records both with every headshot."""
from __future__ import annotations

import cv2
import numpy as np

from .framing import FramingPlan

# Length over which a change is measured, as a fraction of frame height: at 0.5% a cut (any change within a pixel
# or two) shows in full, a fade over several % shows a fraction of it.
HARD_EDGE_STEP = 0.005
# Half-width of the band around the border line searched for the steepest change (fraction of frame height): a
# fade that ends a little before the line and one that starts past it must both count.
HARD_EDGE_BAND = 0.1
# Share of the border points (those next to the person) whose change counts: robust to a few texture pixels.
HARD_EDGE_PERCENTILE = 95.0
# Only where the reference is solidly the person is the ratio measured: on the soft edge of the person's outline a
# ratio is unstable, and edge refinement legitimately changes it.
_SOLID_PERSON = 0.9


def hard_edge_score(framed_matte: np.ndarray, source_matte: np.ndarray, plan: FramingPlan, *,
                    band: float = HARD_EDGE_BAND) -> float:
    """How hard the selfie's own border shows in the framed matte: 0 = invisible, 1 = a full cut.

    The person's own outline must not count, so the score looks at what the border did to the person: the ratio
    of the framed matte to a reference that warps the source matte as if the selfie went on forever (its edge
    pixels repeated), where that reference is solidly the person (> 0.9). Across each border line that falls inside
    the frame the ratio is sampled within +-band of frame height; a point's score is its steepest change over
    HARD_EDGE_STEP of frame height, and the HARD_EDGE_PERCENTILE over the points that meet the person is
    returned (0 when the border never meets the person).
    """
    height, width = framed_matte.shape
    if (width, height) != (plan.frame_width, plan.frame_height):
        raise ValueError("the framed matte must have the plan's frame size")
    reference = cv2.warpAffine(source_matte.astype(np.float32), np.array(plan.matrix, dtype=np.float64),
                               (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    kept = np.where(reference > _SOLID_PERSON, framed_matte.astype(np.float32) / np.maximum(reference, _SOLID_PERSON),
                    np.nan)
    step = HARD_EDGE_STEP * height
    increment = max(1.0, step / 4)
    offsets = np.arange(-band * height, band * height + 1e-6, increment)
    lag = max(1, round(step / increment))
    src_h, src_w = source_matte.shape
    matrix = np.array(plan.matrix, dtype=np.float64)
    scores = []
    for a, b in _border_lines(src_w, src_h):
        pa = matrix @ np.array([a[0], a[1], 1.0])
        pb = matrix @ np.array([b[0], b[1], 1.0])
        length = float(np.hypot(*(pb - pa)))
        if length < 1:
            continue
        points = pa[None] + np.linspace(0.0, 1.0, max(2, int(length / 2)))[:, None] * (pb - pa)[None]
        inside = (points[:, 0] >= 0) & (points[:, 0] <= width - 1) & (points[:, 1] >= 0) & (points[:, 1] <= height - 1)
        if not inside.any():
            continue
        normal = np.array([-(pb - pa)[1], (pb - pa)[0]]) / length
        profile = (points[inside][:, None, :] + offsets[None, :, None] * normal[None, None, :]).reshape(-1, 2)
        profile = profile.astype(np.float32)
        count = int(inside.sum())
        values = _sample_nearest(kept, profile).reshape(count, -1)
        change = np.abs(values[:, lag:] - values[:, :-lag])
        meets = (~np.isnan(change)).any(axis=1)
        if meets.any():
            scores.append(np.nanmax(change[meets], axis=1))
    if not scores or not any(s.size for s in scores):
        return 0.0
    return float(np.percentile(np.concatenate(scores), HARD_EDGE_PERCENTILE))


def _border_lines(width: int, height: int):
    return (((0, 0), (width, 0)), ((0, height), (width, height)), ((0, 0), (0, height)), ((width, 0), (width, height)))


def _sample_nearest(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Nearest-pixel samples (so NaN marks stay where they are); past the edge: NaN."""
    height, width = image.shape[:2]
    x = np.rint(points[:, 0]).astype(np.intp)
    y = np.rint(points[:, 1]).astype(np.intp)
    valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    out = np.full(points.shape[0], np.nan, dtype=np.float32)
    out[valid] = image[y[valid], x[valid]]
    return out


def invented_body_share(matte: np.ndarray, inside: np.ndarray) -> float:
    """Share of the person shown in the frame (matte mass) that was invented past the photo's border rather than
    photographed; frame_subject()'s `inside` says which pixels were photographed. The smear of a tight crop,
    measured."""
    mass = float(matte.sum())
    if mass <= 0.0:
        return 0.0
    return float((matte.astype(np.float32) * (1.0 - inside.astype(np.float32))).sum() / mass)
