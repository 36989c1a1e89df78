"""Objects in front of the person in a selfie, found with the face mesh: what covers the face (occlusion_measure, a
refusal) and a microphone in front of the chest (chest_object, a warning: the face is clear but the headshots will
show it). Selfie QC measures both on every photo (selfie_qc.measure_selfie).

Every limit here was set on half B of the dev people only (benchmarks/dev_split.py: angelina, jack_dorsey,
katy_perry; 21 photos with synthetic hands, microphones, phones and cups drawn on them); the check half's
precision/recall is what `python benchmarks/quality.py --section occlusion` reports.
"""
from __future__ import annotations

import cv2
import numpy as np

from .face_mesh import (
    BROW_A,
    BROW_B,
    CHIN,
    EYE_A_CONTOUR,
    EYE_B_CONTOUR,
    FACE_OVAL,
    FOREHEAD,
    LEFT_CHEEK,
    LIPS_OUTER,
    RIGHT_CHEEK,
    FaceMesh,
)

UPPER_LIP = 0  # mediapipe's mesh point on the upper lip's outer edge

# -- something in front of the face (occlusion_measure) ----------------------------------------------------------

# Measured at this face height (forehead to chin, px).
OCCLUSION_FACE_HEIGHT = 160.0
# A pixel is foreign to the face when it is much darker than the face's own skin (below this share of its median
# L*, so a dark-skinned face is judged against itself) or far from its hue (a*b* distance). Calibration half.
OCCLUSION_DARK_RATIO = 0.55
OCCLUSION_CHROMA = 22.0
# An object, unlike a beard or a shadow, is smooth inside and hard-edged: the component's interior local std of
# L* (5 px window) must stay under OCCLUSION_MAX_TEXTURE and the median colour gradient just around it (Lab units
# per px) over OCCLUSION_MIN_EDGE. Calibration half: with texture < 3.5 allowed, jack_dorsey's beards alone
# covered 0.18 of the face; at 2.5 and 10 they cover <= 0.0065.
OCCLUSION_MAX_TEXTURE = 2.5
OCCLUSION_MIN_EDGE = 10.0
# The largest such component's part on the face, as a share of the checked skin (face oval less eyes and brows,
# plus the neck just under the chin), above which the photo is refused. Calibration half: clean photos
# <= 0.0065; objects over the mouth, chin or a cheek mostly 0.04..0.4. About 4x the clean maximum, and 0.02..0.04
# changed the calibration recall by only a few points.
MAX_OCCLUSION = 0.03


def occlusion_measure(rgb: np.ndarray, mesh: FaceMesh) -> float:
    """Share of the face and neck skin covered by the largest smooth, hard-edged object that is much darker than
    the face's skin or of another hue (a microphone, phone, cup); 0.0 when there is none.

    The mesh is fitted even under an object, so its face oval says where skin should be; the face's own skin
    (cheeks and nose between the eyes and the upper lip) is the colour model. Beards, stubble and shadows are
    dark too but textured or soft-edged, which is what the texture and edge limits tell apart.
    """
    points = mesh.points[:, :2].astype(np.float64)
    forehead, chin = points[FOREHEAD], points[CHIN]
    face_height = float(np.linalg.norm(chin - forehead))
    face_width = float(np.linalg.norm(points[RIGHT_CHEEK] - points[LEFT_CHEEK]))
    if face_height < 8 or face_width < 8:
        return 0.0
    down = (chin - forehead) / face_height
    height, width = rgb.shape[:2]
    left = int(max(points[:, 0].min() - 0.1 * face_width, 0))
    right = int(min(points[:, 0].max() + 0.1 * face_width, width))
    top = int(max(points[:, 1].min() - 0.05 * face_height, 0))
    bottom = int(min(chin[1] + 0.45 * face_height, height))
    if right - left < 8 or bottom - top < 8:
        return 0.0
    scale = OCCLUSION_FACE_HEIGHT / face_height
    crop = rgb[top:bottom, left:right]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pts = (points - [left, top]) * scale
    lab = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    shape = lightness.shape

    def polygon(indices, hull: bool = False) -> np.ndarray:
        mask = np.zeros(shape, np.uint8)
        corners = np.round(pts[list(indices)]).astype(np.int32)
        cv2.fillPoly(mask, [cv2.convexHull(corners) if hull else corners], 1)
        return mask

    full_oval = polygon(FACE_OVAL)
    # Shrunk a little: the oval's rim catches hair and background.
    oval = cv2.erode(full_oval, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))).astype(bool)
    features = np.zeros(shape, np.uint8)
    for feature in (EYE_A_CONTOUR, EYE_B_CONTOUR, BROW_A, BROW_B, LIPS_OUTER):
        features |= polygon(feature, hull=True)
    features = cv2.dilate(features, np.ones((5, 5), np.uint8)).astype(bool)
    # The colour model is the skin above the upper lip (forehead, cheeks, nose): a beard stays out of it, and its
    # median stays skin while an object covers under half of it (a reference of the cheeks alone was taken over
    # by a large phone on one cheek; one of the whole oval by jack_dorsey/3's beard).
    rows = np.arange(shape[0])[:, None]
    reference = oval & ~features & (rows < pts[UPPER_LIP, 1])
    if reference.sum() < 16:
        return 0.0
    ref_l, ref_a, ref_b = (float(np.median(channel[reference])) for channel in (lightness, a, b))
    # The neck just under the chin, as wide as the middle of the jaw.
    half = 0.22 * face_width * scale
    c = pts[CHIN]
    drop = down * 0.3 * OCCLUSION_FACE_HEIGHT
    neck_box = np.array([c - [half, 0], c + [half, 0], c + [half, 0] + drop, c - [half, 0] + drop])
    neck = np.zeros(shape, np.uint8)
    cv2.fillPoly(neck, [np.round(neck_box).astype(np.int32)], 1)
    # The lips stay in the checked skin (they are out of the colour model only): an object over the mouth mostly
    # covers them, and left out they hid it (calibration half: mouth recall 58 -> 76 of 126, clean max unchanged).
    lips = polygon(LIPS_OUTER, hull=True).astype(bool)
    region = (oval & (~features | lips)) | (neck.astype(bool) & ~full_oval.astype(bool))
    region_area = int(region.sum())
    if region_area < 16:
        return 0.0
    foreign = (lightness < OCCLUSION_DARK_RATIO * ref_l) | (np.hypot(a - ref_a, b - ref_b) > OCCLUSION_CHROMA)
    foreign = cv2.morphologyEx((foreign & region).astype(np.uint8), cv2.MORPH_OPEN,
                               cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(foreign, connectivity=8)
    if count <= 1:
        return 0.0
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    edge = cv2.dilate(np.sqrt((gx ** 2 + gy ** 2).sum(axis=2)), np.ones((3, 3), np.uint8))
    mean = cv2.blur(lightness, (5, 5))
    texture = np.sqrt(np.maximum(cv2.blur(lightness * lightness, (5, 5)) - mean * mean, 0.0))
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    square = np.ones((3, 3), np.uint8)
    largest = 0.0
    for index in range(1, count):
        if stats[index, cv2.CC_STAT_AREA] / region_area <= largest:
            continue
        component = (labels == index).astype(np.uint8)
        ring = cv2.dilate(component, square).astype(bool) & ~component.astype(bool) & inner
        core = cv2.erode(component, square).astype(bool)
        if ring.sum() < 8 or core.sum() < 4:
            continue
        hard_edged = float(np.median(edge[ring])) > OCCLUSION_MIN_EDGE
        if hard_edged and float(np.median(texture[core])) < OCCLUSION_MAX_TEXTURE:
            # Only what lies on the face counts: the neck band lets an object held under the chin be seen whole
            # (its edges, its texture), but a collar, turtleneck or tie knot there is no occlusion.
            largest = max(largest, float((component.astype(bool) & oval).sum() / region_area))
    return largest


# -- a microphone below the face ---------------------------------------------------------------------------------

# The band searched under the chin, in face heights (forehead to chin) below the chin point and face widths either
# side of it: what a head-and-shoulders frame shows of the chest. Scaled so the face is OCCLUSION_FACE_HEIGHT tall.
CHEST_BAND_TOP = 0.08
CHEST_BAND_BOTTOM = 1.3
CHEST_BAND_HALF_WIDTH = 0.75
# A microphone is near-black, near-neutral metal or foam: L* under CHEST_DARK_L, chroma under CHEST_MAX_CHROMA.
CHEST_DARK_L = 28.0
CHEST_MAX_CHROMA = 14.0
# The object must stand out from the clothing around it (median L* of its outline minus its own mean L*) ...
CHEST_MIN_CONTRAST = 20.0
# ... be at least this share of the face height squared (600 px at 160 px) ...
CHEST_MIN_AREA = 0.023
# ... and be shaped like a head on a stick: taller than wide, and its widest row in the top half at least
# CHEST_HEAD_OVER_STICK x the median width of its bottom quarter (a tie widens downwards; a lapel or a dark suit
# touches the band's sides and is never a candidate). Set on the calibration half (benchmarks/occluders.
# CALIBRATION_PEOPLE): every clean photo of it measures 0, and synthetic microphones on the chest are found
# where they stand out from the clothes (on a black t-shirt or dress, a black microphone can't be told apart).
CHEST_MIN_TALL = 1.1
CHEST_HEAD_OVER_STICK = 1.6


def microphone_below_face(rgb: np.ndarray, mesh: FaceMesh) -> float:
    """Size (share of the face height squared) of the largest dark, head-on-a-stick object in front of the chest
    just below the face, such as a podium or hand-held microphone; 0.0 when there is none.

    The occlusion check (occlusion_measure) only counts what covers the face; this one finds the object that
    stays in the frame below it, so the verdict can name it (and framing can try to keep it out)."""
    return chest_object(rgb, mesh)[0]


def chest_object(rgb: np.ndarray, mesh: FaceMesh) -> tuple[float, float | None]:
    """microphone_below_face()'s size, and the photo row where the highest such object begins (None: none)."""
    points = mesh.points[:, :2].astype(np.float64)
    chin = points[CHIN]
    face_height = float(np.linalg.norm(chin - points[FOREHEAD]))
    face_width = float(np.linalg.norm(points[RIGHT_CHEEK] - points[LEFT_CHEEK]))
    if face_height < 8 or face_width < 8:
        return 0.0, None
    height, width = rgb.shape[:2]
    top = int(chin[1] + CHEST_BAND_TOP * face_height)
    bottom = int(min(chin[1] + CHEST_BAND_BOTTOM * face_height, height))
    left = int(max(chin[0] - CHEST_BAND_HALF_WIDTH * face_width, 0))
    right = int(min(chin[0] + CHEST_BAND_HALF_WIDTH * face_width, width))
    if bottom - top < 8 or right - left < 8:
        return 0.0, None
    scale = OCCLUSION_FACE_HEIGHT / face_height
    crop = rgb[top:bottom, left:right]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    lab = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2LAB).astype(np.float32)
    lightness = lab[..., 0] * (100.0 / 255.0)
    row_scale = (bottom - top) / crop.shape[0]
    chroma = np.hypot(lab[..., 1] - 128.0, lab[..., 2] - 128.0)
    dark = ((lightness < CHEST_DARK_L) & (chroma < CHEST_MAX_CHROMA)).astype(np.uint8)
    dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    min_area = CHEST_MIN_AREA * OCCLUSION_FACE_HEIGHT ** 2
    largest, first_row = 0.0, None
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if area < min_area or x == 0 or x + w >= dark.shape[1] or h < CHEST_MIN_TALL * w:
            continue
        component = labels[y:y + h, x:x + w] == index
        rows = component.sum(axis=1)
        head, stick = rows[: max(1, h // 2)].max(), np.median(rows[h - max(1, h // 4):])
        if head < CHEST_HEAD_OVER_STICK * max(stick, 1.0):
            continue
        whole = labels == index
        ring = cv2.dilate(whole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~whole
        if float(np.median(lightness[ring])) - float(lightness[whole].mean()) < CHEST_MIN_CONTRAST:
            continue
        largest = max(largest, area / OCCLUSION_FACE_HEIGHT ** 2)
        row = top + y * row_scale
        first_row = row if first_row is None else min(first_row, row)
    return largest, first_row
