"""Person matte: MODNet's portrait alpha (matting.py) when its file is there, else mediapipe's selfie-segmentation
mask cleaned up and edge-refined with a guided filter; either way only the employee's blob is kept."""
from __future__ import annotations

import logging
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
from .matting import PortraitMatter  # noqa: E402

logger = logging.getLogger(__name__)

# The guided filter runs on a copy this size: edge detail beyond it is invisible after the mask's 256 px origin.
REFINE_LONG_SIDE = 800
# Values the model gives to background clutter; mapped to exactly 0 so the brand background stays exact.
_MATTE_FLOOR = 0.15
_MATTE_CEIL = 0.85


class PersonSegmenter:
    """Loads the models once; matte() gives a float32 0..1 person matte at the image's resolution.

    With a PortraitMatter (MODNet) the matte is its alpha: real hair detail at 512 px, no guided filter needed here.
    Without one it is mediapipe's 256 px mask, guided-filtered onto the photo's edges. mediapipe loads either way:
    coarse_matte() (the baseline benchmarks compare against) and the fallback use it.
    """

    def __init__(self, portrait: PortraitMatter | None = None) -> None:
        self.portrait = portrait
        # model_selection=0 is the general 256x256 model; the landscape one is coarser on portraits.
        self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        # The graph finishes starting up on a background thread; one tiny frame waits for it, so the first real
        # photo isn't slower and start-up logging happens here, inside __init__, not later.
        self._model.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def close(self) -> None:
        self._model.close()

    @property
    def source(self) -> str:
        """Which model the mattes come from, recorded with each headshot's parameters."""
        return "modnet" if self.portrait is not None else "mediapipe"

    def matte(self, rgb: np.ndarray, face: Face | None = None) -> np.ndarray:
        if self.portrait is not None:
            matte = self.portrait_matte(rgb, face)
            if matte is not None:
                return matte
        return self.mediapipe_matte(rgb, face)

    def mediapipe_matte(self, rgb: np.ndarray, face: Face | None = None) -> np.ndarray:
        """The fallback: mediapipe's mask, guided-filtered onto the photo's edges and stretched (benchmarks' before)."""
        return _stretch(_guided_refine(rgb, self._person_mask(rgb, face)))

    def portrait_matte(self, rgb: np.ndarray, face: Face | None = None) -> np.ndarray | None:
        """MODNet's alpha limited to the employee's blob (a colleague MODNet also mattes goes), or None when MODNet
        lost part of the person that mediapipe is sure of: then the caller uses mediapipe_matte().

        Trimap-free matting can drop a shadowed cheek and the hair above it on a busy backdrop of similar colour
        (alex_lacamoire/1.jpg on benchmarks/quality_matting.py's clutter lost half his head); mediapipe's coarse
        mask in the middle of the face (portrait_loss) is a cheap (~70 ms) witness of where the person certainly is.
        """
        alpha, lost = self.portrait_alpha(rgb, face)
        if lost > PORTRAIT_MAX_LOSS:
            logger.warning("MODNet's matte misses %.0f%% of the person mediapipe is sure of: using mediapipe's matte "
                           "for this photo", 100.0 * lost)
            return None
        return alpha

    def portrait_alpha(self, rgb: np.ndarray, face: Face | None = None) -> tuple[np.ndarray, float]:
        """MODNet's alpha limited to the employee's blob, and its portrait_loss against mediapipe's mask."""
        if self.portrait is None:
            raise RuntimeError("this PersonSegmenter has no portrait matting model")
        rgb = np.ascontiguousarray(rgb)
        alpha = self.portrait.alpha(rgb)
        alpha = (alpha * _person_region(alpha, face)).astype(np.float32, copy=False)
        return alpha, portrait_loss(alpha, self._person_mask(rgb, face), face)

    def coarse_matte(self, rgb: np.ndarray, face: Face | None = None) -> np.ndarray:
        """The model's mask without any edge refinement (bilinear from 256 px): the baseline halo is measured on."""
        return _stretch(self._person_mask(rgb, face))

    def _person_mask(self, rgb: np.ndarray, face: Face | None) -> np.ndarray:
        height, width = rgb.shape[:2]
        raw = self._model.process(np.ascontiguousarray(rgb)).segmentation_mask
        raw = np.asarray(raw, dtype=np.float32)
        if raw.shape != (height, width):
            raw = cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR)
        return raw * _person_region(raw, face)


# The MODNet check (portrait_loss): inside the face box, mediapipe's confident mask (> 0.5) shrunk by
# PORTRAIT_CHECK_MARGIN of the long side is where the person certainly is; MODNet may leave at most PORTRAIT_MAX_LOSS
# of it below 0.5. Only the middle of the face (the box less PORTRAIT_CHECK_INSET each side): around it mediapipe's
# own errors dominate (a podium, a colleague's shoulder, the dark backdrop beside scarlett/7.jpg's close-up: 11-28%
# of a whole-photo check), while a MODNet confused by its backdrop drops a cheek too (alex_lacamoire/1.jpg on the
# benchmark's clutter lost half his head). Loss over the 41 dev selfies as they are (john_* chips aside): 0.0013 at
# most; that composite: 0.035, and 0.06 on one of five other clutter seeds (the other four: 0).
PORTRAIT_CHECK_MARGIN = 0.03
PORTRAIT_CHECK_INSET = 0.15
PORTRAIT_MAX_LOSS = 0.02


def portrait_loss(alpha: np.ndarray, mediapipe_mask: np.ndarray, face: Face | None = None) -> float:
    """Share of mediapipe's certain person (its > 0.5 mask shrunk by PORTRAIT_CHECK_MARGIN, inside the face box
    less PORTRAIT_CHECK_INSET of its size on each side when the face is known) that alpha leaves below 0.5."""
    height, width = alpha.shape
    margin = max(1, round(PORTRAIT_CHECK_MARGIN * max(height, width)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    certain = cv2.erode((mediapipe_mask > 0.5).astype(np.uint8), kernel) > 0
    if face is not None:
        left, top, right, bottom = face.box
        inset_x, inset_y = PORTRAIT_CHECK_INSET * (right - left), PORTRAIT_CHECK_INSET * (bottom - top)
        left, top, right, bottom = (max(0, int(round(v))) for v in (left + inset_x, top + inset_y, right - inset_x,
                                                                       bottom - inset_y))
        window = np.zeros_like(certain)
        window[top:bottom, left:right] = True
        certain &= window
    total = int(certain.sum())
    return float((certain & (alpha < 0.5)).sum() / total) if total else 0.0


def _stretch(mask: np.ndarray) -> np.ndarray:
    """Linear stretch between floor and ceiling: faint false positives vanish, the body core becomes opaque."""
    matte = np.clip((mask - _MATTE_FLOOR) / (_MATTE_CEIL - _MATTE_FLOOR), 0.0, 1.0)
    return matte.astype(np.float32, copy=False)


# Edge refinement of a framed matte (refine_edges): band half-width and guided-filter radius as fractions of the
# frame's long side, and the filter's eps on a 0..1 guide. The band is where the 256 px model can be wrong (hair,
# collar, shoulders); outside it the matte is already exactly 0 or 1 and stays so. Radius ~0.5% of the frame:
# fine enough for hair strands at the working resolution, wide enough to move the edge by a few pixels.
REFINE_BAND = 0.012
REFINE_RADIUS = 0.005
REFINE_EPS = 0.03 ** 2
# After the filter the soft edge is tightened: alpha below EDGE_LOW becomes 0, above EDGE_HIGH 1, smoothstep
# between. The model's (and the filter's) low-alpha tail lies over the old background and shows as a light or
# coloured glow on the new one. Mean background.halo_score over the 41 adult dev faces on a navy backdrop: coarse
# model matte 0.020, PersonSegmenter.matte's grey guided filter 0.032, + this refinement 0.011, + foreground
# colour estimation (background.estimate_foreground) 0.0045; hair edges still look soft.
EDGE_LOW = 0.25
EDGE_HIGH = 0.75


def refine_edges(rgb: np.ndarray, matte: np.ndarray, inside: np.ndarray | None = None) -> np.ndarray:
    """Snap a framed matte's soft edge onto the photo's edges, in a band around it, and tighten it (no halo).

    The guide is the photo projected on the colour axis that best separates the person from the old background
    next to the edge (their mean colours' difference): a red shirt on a grey wall of the same brightness is
    invisible to a grey-level guide but not to this one. The fast guided filter (box filters only) keeps it at
    ~40 ms for a 1300 x 1000 frame; pixels outside the band keep their value bit for bit. `inside` (framing's
    FramedPortrait.inside) keeps the body invented past the selfie's border, and its gentle fade, untouched.
    """
    if matte.shape != rgb.shape[:2]:
        raise ValueError("photo and matte must have the same height and width")
    height, width = matte.shape
    long_side = max(height, width)
    band_px = max(2, round(REFINE_BAND * long_side))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band_px + 1, 2 * band_px + 1))
    person = (matte >= 0.5).astype(np.uint8)
    band = (cv2.dilate(person, kernel) > 0) & (cv2.erode(person, kernel) == 0)
    # Plus every soft pixel: the model's low-alpha tail can reach further out than the band.
    band |= (matte > 0.0) & (matte < 1.0)
    share = None
    if inside is not None:
        if inside.shape != matte.shape:
            raise ValueError("inside must have the matte's height and width")
        # Refinement fades in from 0 at the selfie's border to full strength 2 bands inside it: a refined edge
        # meeting an unrefined continuation would be a seam right on the border line.
        ramp = 4 * band_px + 1
        share = np.clip(2.0 * cv2.blur(inside.astype(np.float32), (ramp, ramp)) - 1.0, 0.0, 1.0)
        band &= (share > 0.0) & (inside > 0.5)
    if not band.any():
        return matte
    image = rgb.astype(np.float32) * (1.0 / 255.0)
    inside = band & (matte >= 0.9)
    outside = band & (matte <= 0.1)
    axis = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if inside.sum() > 50 and outside.sum() > 50:
        difference = image[inside].mean(axis=0) - image[outside].mean(axis=0)
        norm = float(np.linalg.norm(difference))
        if norm > 0.05:  # the two sides differ in colour enough for a direction to mean something
            axis = (difference / norm).astype(np.float32)
    guide = image @ axis
    guide -= guide.min()
    radius = max(1, round(REFINE_RADIUS * long_side))
    refined = _fast_guided_filter(guide, matte.astype(np.float32), radius, REFINE_EPS)[band]
    tight = np.clip((refined - EDGE_LOW) / (EDGE_HIGH - EDGE_LOW), 0.0, 1.0)
    tight = tight * tight * (3.0 - 2.0 * tight)
    out = matte.astype(np.float32, copy=True)
    out[band] = tight if share is None else out[band] + share[band] * (tight - out[band])
    return out


def _fast_guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He & Sun's fast guided filter: coefficients at half resolution (4x fewer box-filter pixels), applied at full."""
    height, width = guide.shape
    sub = 2 if radius >= 4 else 1
    small = (max(1, width // sub), max(1, height // sub))
    g = cv2.resize(guide, small, interpolation=cv2.INTER_AREA) if sub > 1 else guide
    p = cv2.resize(source, small, interpolation=cv2.INTER_AREA) if sub > 1 else source
    r = max(1, radius // sub)
    kernel = (2 * r + 1, 2 * r + 1)
    mean_g = cv2.blur(g, kernel)
    mean_p = cv2.blur(p, kernel)
    a = (cv2.blur(g * p, kernel) - mean_g * mean_p) / (cv2.blur(g * g, kernel) - mean_g * mean_g + eps)
    b = mean_p - a * mean_g
    a, b = cv2.blur(a, kernel), cv2.blur(b, kernel)
    if sub > 1:
        a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
    return a * guide + b


# Person-region selection on the model's mask (_person_region), as fractions of the crop's long side. BRIDGE: the
# radius of a morphological opening that cuts the thin links (a shoulder touching a neighbour's arm, a sliver of
# ~0.5 values along the photo's border) through which another person or a background blob joins the employee's
# blob; 1.2% of an 800 px crop is ~10 px, far thinner than a neck, an ear or a lock of hair the model resolves at
# 256 px. GROW: how far around the kept blob its soft edge (hair, shoulders) is kept.
_REGION_BRIDGE = 0.012
_REGION_GROW = 0.01
# Model confidence of the blob. 0.8 would also cut a blurred colleague's face behind the jaw (a 0.4..0.7
# plateau), but it cuts real body too where skin meets a backdrop of the same colour (katy_perry/4.jpg's shoulder).
_REGION_CORE = 0.5


def _person_region(raw: np.ndarray, face: Face | None) -> np.ndarray:
    """Soft 0..1 mask of the employee's blob: drops other people and stray blobs, and their soft fringes too.

    The blob is the confident (> _REGION_CORE) region holding the face after an opening has cut thin links to
    neighbours. Around it, soft pixels are kept out to GROW and confident ones out to GROW + BRIDGE, but only
    those nearer to it than to any other confident blob: the fringe of a colleague standing behind the shoulder
    (the model gives it 0.2..0.5, below the blob threshold) is not "near the employee" just because it is within
    reach. Everything else goes, whatever its value.
    """
    if face is None:
        return np.ones_like(raw)
    height, width = raw.shape
    long_side = max(height, width)
    binary = (raw > _REGION_CORE).astype(np.uint8)
    bridge = max(1, int(round(_REGION_BRIDGE * long_side)))
    opened = cv2.morphologyEx(binary, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * bridge + 1, 2 * bridge + 1)))
    left, top, right, bottom = (int(round(v)) for v in face.box)
    box = (slice(max(top, 0), min(bottom, height)), slice(max(left, 0), min(right, width)))
    keep = None
    for mask in (opened, binary):  # a face thinner than the opening (tiny crop) still has its unopened blob
        count, labels = cv2.connectedComponents(mask, connectivity=8)
        window = labels[box]
        ids, counts = np.unique(window[window > 0], return_counts=True)
        if ids.size:
            keep = labels == ids[np.argmax(counts)]
            others = (labels > 0) & ~keep
            break
    if keep is None:
        return np.ones_like(raw)  # the model missed the face itself; better keep everything than cut the head
    grow = max(3, int(round(_REGION_GROW * long_side)))
    to_keep = cv2.distanceTransform((~keep).astype(np.uint8), cv2.DIST_L2, 3)
    # Confident pixels the opening took off (an ear, a lock of hair) come back within GROW + BRIDGE; the soft
    # values of the edge only within GROW (a plateau of doubt beyond it is someone or something else).
    region = (to_keep <= grow) | ((to_keep <= grow + bridge) & (binary > 0))
    if others.any():
        region &= to_keep <= cv2.distanceTransform((~others).astype(np.uint8), cv2.DIST_L2, 3)
    # Soft multiplier: no step where the kept reach ends (values there are low anyway).
    return cv2.GaussianBlur(region.astype(np.float32), (0, 0), grow / 2.0)


# Matte values at or below this change no composite pixel (alpha * 255 < 0.5 grey level): exactly 0.
MATTE_ZERO = 0.5 / 255.0


def keep_attached(matte: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The matte with only the person attached to `box` (the face, in matte pixels): stray parts set to exactly 0.

    Edge refinement, the body extension and resampling can each leave soft islands (a glow above the head where a
    few faint pixels touched the photo's border, a neighbour's remnant); whatever is not 8-connected, through
    values above MATTE_ZERO, to the opaque blob holding the face is no part of the employee. Values at or below
    MATTE_ZERO become 0 too, so "no person" means an exact backdrop. ~5 ms at 1000 x 1300.
    """
    height, width = matte.shape
    alive = (matte > MATTE_ZERO).astype(np.uint8)
    count, labels = cv2.connectedComponents(alive, connectivity=8)
    out = np.where(alive > 0, matte, 0.0).astype(np.float32)
    if count <= 2:
        return out
    left, top, right, bottom = (int(round(v)) for v in box)
    window = labels[max(top, 0):min(bottom, height), max(left, 0):min(right, width)]
    core = matte[max(top, 0):min(bottom, height), max(left, 0):min(right, width)] >= 0.5
    ids, counts = np.unique(window[core & (window > 0)], return_counts=True)
    if ids.size == 0:  # no opaque face in the box: keep the largest opaque part rather than guess
        ids, counts = np.unique(labels[(matte >= 0.5) & (labels > 0)], return_counts=True)
        if ids.size == 0:
            return out
    out[labels != ids[np.argmax(counts)]] = 0.0
    return out


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
