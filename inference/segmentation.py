"""Person matte: mediapipe's shipped selfie-segmentation model, cleaned up and edge-refined with a guided filter."""
from __future__ import annotations

import os
import warnings

import cv2
import numpy as np

# mediapipe's C++ side logs through glog; keep worker and CLI stderr for real errors.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# protobuf 4 warns on every call mediapipe 0.10.14 makes; the warning is about mediapipe's code, not ours.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")

import mediapipe as mp  # noqa: E402  (after the logging set-up above)

from .face_detect import Face  # noqa: E402

# The guided filter runs on a copy this size: edge detail beyond it is invisible after the mask's 256 px origin.
REFINE_LONG_SIDE = 800
# Values the model gives to background clutter; mapped to exactly 0 so the brand background stays exact.
_MATTE_FLOOR = 0.15
_MATTE_CEIL = 0.85


class PersonSegmenter:
    """Loads the mediapipe graph once; matte() gives a float32 0..1 person matte at the image's resolution."""

    def __init__(self) -> None:
        # model_selection=0 is the general 256x256 model; the landscape one is coarser on portraits.
        self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        # The graph finishes starting up on a background thread; one tiny frame waits for it, so the first real
        # photo isn't slower and start-up logging happens here, inside __init__, not later.
        self._model.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def close(self) -> None:
        self._model.close()

    def matte(self, rgb: np.ndarray, face: Face | None = None) -> np.ndarray:
        height, width = rgb.shape[:2]
        raw = self._model.process(np.ascontiguousarray(rgb)).segmentation_mask
        raw = np.asarray(raw, dtype=np.float32)
        if raw.shape != (height, width):
            raw = cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR)
        keep = _person_region(raw, face)
        refined = _guided_refine(rgb, raw * keep)
        # Linear stretch between floor and ceiling: faint false positives vanish, the body core becomes opaque.
        matte = np.clip((refined - _MATTE_FLOOR) / (_MATTE_CEIL - _MATTE_FLOOR), 0.0, 1.0)
        return matte.astype(np.float32, copy=False)


def _person_region(raw: np.ndarray, face: Face | None) -> np.ndarray:
    """Soft mask of the connected blob that holds the face; drops other people and stray blobs in the background."""
    binary = (raw > 0.5).astype(np.uint8)
    if face is None:
        return np.ones_like(raw)
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    if count <= 2:
        return np.ones_like(raw)
    height, width = raw.shape
    left, top, right, bottom = (int(round(v)) for v in face.box)
    window = labels[max(top, 0):min(bottom, height), max(left, 0):min(right, width)]
    ids, counts = np.unique(window[window > 0], return_counts=True)
    if ids.size == 0:
        return np.ones_like(raw)  # the model missed the face itself; better keep everything than cut the head
    keep = (labels == ids[np.argmax(counts)]).astype(np.uint8)
    # Grow it a little so the soft edge around the blob (hair, shoulders) survives.
    grow = max(3, int(round(max(height, width) * 0.01)))
    keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return cv2.GaussianBlur(keep.astype(np.float32), (0, 0), grow / 2.0)


def _guided_refine(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Snap the model's coarse 256 px mask edges to the photo's real edges (hair, collar) with a guided filter."""
    height, width = mask.shape
    scale = min(1.0, REFINE_LONG_SIDE / max(height, width))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1.0:
        grey = cv2.resize(grey, small_size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, small_size, interpolation=cv2.INTER_AREA)
    # Radius ~1.5% of the crop: wide enough to pull the model's blocky edge onto the real one; eps (in grey
    # levels squared, ~10 levels of local contrast) decides what counts as an edge. Tuned by eye on dev faces.
    radius = max(2, round(max(small_size) * 0.015))
    refined = cv2.ximgproc.guidedFilter(grey, mask, radius, 100.0, -1)
    if scale < 1.0:
        refined = cv2.resize(refined, (width, height), interpolation=cv2.INTER_LINEAR)
    return refined
