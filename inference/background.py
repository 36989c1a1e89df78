"""Brand background: render the kit's solid, gradient, image or office backdrop, light it, and put the framed person
on it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .brand import Background, hex_to_rgb
from .errors import BackgroundError


def render_background(background: Background, width: int, height: int) -> np.ndarray:
    """height x width x 3 uint8 backdrop; solid and gradient colours are exact, so QC and tests can compare."""
    background.check()
    top = np.array(hex_to_rgb(background.color), dtype=np.float64)
    if background.kind == "solid":
        return np.broadcast_to(top.astype(np.uint8), (height, width, 3)).copy()
    if background.kind == "gradient":
        bottom = np.array(hex_to_rgb(background.color_to or background.color), dtype=np.float64)
        # Row 0 is exactly `color` and the last row exactly `color_to`.
        t = np.linspace(0.0, 1.0, height)[:, None]
        rows = np.rint(top[None, :] * (1.0 - t) + bottom[None, :] * t).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(rows[:, None, :], (height, width, 3)))
    if background.kind == "office":
        if background.image_path:
            return _blurred_plate(Path(background.image_path), width, height)
        return office_plate(background, width, height)
    return _image_plate(Path(background.image_path or ""), width, height)


def apply_light_falloff(backdrop: np.ndarray, gain: np.ndarray | None) -> np.ndarray:
    """The backdrop times the lighting stage's background gain (HxW); pixels where the gain is exactly 1 are kept
    bit for bit, so a flat brand colour stays exact wherever the light doesn't fall off."""
    if gain is None:
        return backdrop
    if gain.shape != backdrop.shape[:2]:
        raise ValueError("the background gain must have the backdrop's height and width")
    lit = backdrop.astype(np.float32) * gain[..., None].astype(np.float32)
    return np.clip(np.rint(lit), 0, 255).astype(np.uint8)


def composite(person: np.ndarray, matte: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """Alpha-blend the person over the backdrop; where the matte is 0 the backdrop pixel is kept bit for bit."""
    if person.shape != backdrop.shape or matte.shape != person.shape[:2]:
        raise ValueError("person, matte and backdrop must share the frame size")
    alpha = matte[..., None].astype(np.float32)
    blended = backdrop.astype(np.float32) + alpha * (person.astype(np.float32) - backdrop.astype(np.float32))
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def estimate_foreground(rgb: np.ndarray, matte: np.ndarray, *, scale: float = 0.5) -> np.ndarray:
    """The person's own colour in the soft edge of the matte, without the old background mixed in.

    Edge pixels of a selfie are a blend of person and the original background (a red curtain leaves a red rim on
    a dark suit). One pass of "blur fusion" (Forte & Pitie, ICIP 2021) estimates the pure foreground colour from
    nearby opaque and transparent pixels. It runs at half resolution and only edge pixels are replaced, which keeps
    it at ~25 ms for a 1024x1280 frame.
    """
    height, width = matte.shape
    edge = (matte > 0.0) & (matte < 0.999)
    if not edge.any():
        return rgb
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(matte, small, interpolation=cv2.INTER_AREA)
    radius = max(3, round(0.02 * max(small)))
    kernel = (2 * radius + 1, 2 * radius + 1)
    a = alpha[..., None]
    blurred_alpha = cv2.blur(alpha, kernel)[..., None]
    foreground = cv2.blur(image * a, kernel) / (blurred_alpha + 1e-4)
    background = cv2.blur(image * (1.0 - a), kernel) / (1.0 - blurred_alpha + 1e-4)
    estimate = foreground + a * (image - a * foreground - (1.0 - a) * background)
    estimate = cv2.resize(np.clip(estimate, 0.0, 255.0), (width, height), interpolation=cv2.INTER_LINEAR)
    out = rgb.copy()
    out[edge] = np.rint(estimate[edge]).astype(np.uint8)
    return out


# Halo measurement: width of the ring just outside the matte's half-opacity line, and the radius over which the
# person's own nearby colour is averaged, as fractions of frame height. 1% (~20 px at 2048) covers the soft edge
# a 256 px segmentation model leaves after upscaling. Measured on a copy HALO_LONG_SIDE long: the ring is still
# ~5 px wide there, and a full-size measurement would cost ~10x more.
HALO_BAND = 0.01
HALO_PERSON_RADIUS = 0.02
HALO_LONG_SIDE = 1024
# Only the person's own outline can carry a halo: ring pixels count where the matte nearby drops over less than
# 1 / HALO_EDGE_STEEPNESS of the frame height (5%). The deliberately gentle fade of a body extended past the
# selfie's border (framing.frame_subject, ~18%) is not an edge and is left out.
HALO_EDGE_STEEPNESS = 20.0


def halo_score(composite_rgb: np.ndarray, matte: np.ndarray, backdrop: np.ndarray) -> float:
    """Mean colour in the ring just outside the person that is neither person nor backdrop (0..1; lower is cleaner).

    A correct soft edge (hair, a blurred shoulder) is a mix of the person's colour nearby and the new backdrop.
    A halo is something else: the old background carried along by a blurry or misplaced edge (a light rim around
    dark hair on a navy backdrop), or colour spill. Per pixel of the ring (HALO_BAND of frame height outside the
    matte's 0.5 line, next to a real edge: see HALO_EDGE_STEEPNESS) the composite is explained as the best mix
    a*F + (1-a)*B of the local person colour F (opaque pixels within HALO_PERSON_RADIUS) and the backdrop B; the
    score is the mean unexplained remainder, largest channel / 255.
    """
    if composite_rgb.shape != backdrop.shape or matte.shape != composite_rgb.shape[:2]:
        raise ValueError("composite, matte and backdrop must share the frame size")
    height, width = matte.shape
    scale = min(1.0, HALO_LONG_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        composite_rgb = cv2.resize(composite_rgb, size, interpolation=cv2.INTER_AREA)
        backdrop = cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA)
        matte = cv2.resize(matte.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        height = size[1]
    matte = matte.astype(np.float32, copy=False)
    band_px = max(1, round(HALO_BAND * height))
    person = (matte >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band_px + 1, 2 * band_px + 1))
    ring = (cv2.dilate(person, kernel) > 0) & (person == 0)
    slope = np.hypot(cv2.Sobel(matte, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(matte, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    ring &= cv2.dilate(slope, kernel) * height > HALO_EDGE_STEEPNESS
    if not ring.any():
        return 0.0
    image = composite_rgb.astype(np.float32)
    opaque = (matte >= 0.95).astype(np.float32)
    sigma = max(1.0, HALO_PERSON_RADIUS * height / 2)
    weight = cv2.GaussianBlur(opaque, (0, 0), sigma)
    local = cv2.GaussianBlur(image * opaque[..., None], (0, 0), sigma) / np.maximum(weight, 1e-4)[..., None]
    c, f, b = image[ring], local[ring], backdrop[ring].astype(np.float32)
    d = f - b
    mix = np.clip(np.sum((c - b) * d, axis=1) / np.maximum(np.sum(d * d, axis=1), 1e-3), 0.0, 1.0)
    remainder = np.abs(c - b - mix[:, None] * d).max(axis=1)
    return float(remainder.mean() / 255.0)


def background_bleed(first: np.ndarray, second: np.ndarray, old_first: np.ndarray, old_second: np.ndarray,
                     region: np.ndarray) -> float:
    """Share of a selfie's old background that survives into its composite, within `region` (0 none .. 1 all).

    The same person in front of two different old backgrounds must give the same headshot: whatever differs
    between the two composites came from the old background (a matte calling background "person" between curls,
    or colour spill the foreground estimate missed). The score is that difference over the two old backgrounds'
    own difference, summed over the region (a band around the hair, say), so it needs no ground-truth alpha.
    """
    if not first.shape == second.shape == old_first.shape == old_second.shape or region.shape != first.shape[:2]:
        raise ValueError("composites, old backgrounds and region must share the frame size")
    changed = np.abs(first[region].astype(np.float32) - second[region].astype(np.float32)).sum()
    contrast = np.abs(old_first[region].astype(np.float32) - old_second[region].astype(np.float32)).sum()
    return float(changed / contrast) if contrast > 0 else 0.0


# The procedural office is drawn at this long side and enlarged: it is out of focus, so nothing is lost, and it
# costs ~10 ms instead of ~200 ms at 2048 px.
OFFICE_DRAW_LONG_SIDE = 256
# Depth-of-field blur of the office (sigma, fraction of the long side); also used to blur an office photo plate.
OFFICE_BLUR = 0.04
# How far the wall moves from the brand colour toward a light neutral: an office wall is lighter and greyer than
# a brand swatch, and the person must stand out against it.
OFFICE_WALL_NEUTRAL = 0.55
_OFFICE_NEUTRAL = np.array([236.0, 233.0, 228.0])
_WINDOW_LIGHT = np.array([255.0, 250.0, 238.0])
# Dither amplitude (grey levels) added to the enlarged plate: smooth 8-bit gradients band without it.
_DITHER = 0.8


def office_plate(background: Background, width: int, height: int) -> np.ndarray:
    """A tasteful out-of-focus office in the brand colours: lit wall, soft window light, bokeh; nothing recognisable.

    Deterministic for a given brand colour pair and size, so every employee of a team gets the same backdrop.
    """
    brand = np.array(hex_to_rgb(background.color), dtype=np.float64)
    accent = np.array(hex_to_rgb(background.color_to or background.color), dtype=np.float64)
    seed = int.from_bytes((background.color + (background.color_to or "")).encode(), "little") % (2**32)
    rng = np.random.default_rng(seed)
    scale = OFFICE_DRAW_LONG_SIDE / max(width, height)
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = xs / w, ys / h
    wall = brand + OFFICE_WALL_NEUTRAL * (_OFFICE_NEUTRAL - brand)
    canvas = np.broadcast_to(wall, (h, w, 3)).copy()
    # Light falls off toward the floor and away from the window side.
    window_left = bool(rng.integers(0, 2))
    side = u if window_left else 1.0 - u
    canvas *= (1.0 - 0.18 * v[..., None]) * (1.0 - 0.12 * side[..., None])
    # A tall window on one side: a bright soft panel with two darker mullions.
    span = (0.0, 0.34) if window_left else (0.66, 1.0)
    pane = ((u > span[0]) & (u < span[1]) & (v > 0.06) & (v < 0.78)).astype(np.float64)
    for mullion in np.linspace(span[0], span[1], 4)[1:-1]:
        pane *= 1.0 - 0.6 * (np.abs(u - mullion) < 0.012)
    canvas += 0.55 * pane[..., None] * (_WINDOW_LIGHT - canvas)
    # A low band of darker accent colour: furniture/floor far behind, never a readable object.
    floor = np.clip((v - 0.72) / 0.06, 0.0, 1.0)[..., None]
    canvas += 0.45 * floor * (0.55 * accent + 0.45 * wall * 0.6 - canvas)
    canvas = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), OFFICE_BLUR * max(w, h)).astype(np.float64)
    # Bokeh, drawn after the blur (out-of-focus highlights keep a defined round rim): window light and brand tints,
    # mostly in the upper two thirds.
    for _ in range(16):
        cx, cy = rng.uniform(0.0, 1.0), rng.uniform(0.02, 0.7)
        radius = rng.uniform(0.025, 0.07) * max(w, h)
        tint = [_WINDOW_LIGHT, brand + 0.6 * (_WINDOW_LIGHT - brand), accent + 0.5 * (_WINDOW_LIGHT - accent)][
            int(rng.integers(0, 3))]
        disc = np.clip(1.0 - np.hypot(xs - cx * w, ys - cy * h) / radius, 0.0, 1.0)
        disc = np.clip(disc * 3.0, 0.0, 1.0)  # flat-topped disc with a soft rim, like a real out-of-focus highlight
        canvas += rng.uniform(0.15, 0.35) * disc[..., None] * (tint - canvas)
    # A light final blur: the rims soften to what a wide aperture gives.
    canvas = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 0.004 * max(w, h))
    return _enlarge_with_dither(canvas, width, height)


def _blurred_plate(path: Path, width: int, height: int) -> np.ndarray:
    """The kit's office photo, cover-cropped and thrown out of focus (people and signage become unreadable)."""
    scale = OFFICE_DRAW_LONG_SIDE / max(width, height)
    small = _image_plate(path, max(8, round(width * scale)), max(8, round(height * scale))).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), OFFICE_BLUR * max(small.shape[:2]))
    return _enlarge_with_dither(small, width, height)


def _enlarge_with_dither(canvas: np.ndarray, width: int, height: int) -> np.ndarray:
    big = cv2.resize(canvas.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    # A fixed 64 x 64 noise tile, repeated: breaks 8-bit banding at no per-pixel random cost.
    tile = np.random.default_rng(0).uniform(-_DITHER, _DITHER, (64, 64)).astype(np.float32)
    noise = np.tile(tile, (-(-height // 64), -(-width // 64)))[:height, :width]
    big += noise[..., None]
    # convertScaleAbs rounds and saturates to uint8 in one pass (the plate is never below 0 by more than the dither).
    return cv2.convertScaleAbs(big)


def _image_plate(path: Path, width: int, height: int) -> np.ndarray:
    """Cover-crop the kit's background plate to the frame (scale to fill, centre, crop the overflow)."""
    if not path.is_file():
        raise BackgroundError(f"background image {str(path)!r} does not exist")
    try:
        with Image.open(path) as plate:
            plate = ImageOps.exif_transpose(plate).convert("RGB")
            fitted = ImageOps.fit(plate, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise BackgroundError(f"background image {str(path)!r} cannot be read: {exc}") from None
    return np.asarray(fitted, dtype=np.uint8).copy()
