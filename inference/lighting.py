"""Studio relighting of the framed subject: key/fill shading from face-mesh normals, a rim light on the matte edge,
catchlights in the irises and the backdrop's light falloff."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .face_mesh import (
    CHIN,
    EYE_A_CONTOUR,
    EYE_B_CONTOUR,
    FACE_OVAL,
    FOREHEAD,
    LEFT_CHEEK,
    LEFT_IRIS,
    NOSE_TIP,
    RIGHT_CHEEK,
    RIGHT_IRIS,
    TESSELATION_EDGES,
    FaceMesh,
)
from .retouch import Grid, skin_polygon_mask

# Every field is computed on a copy with this long side (light is low-frequency) and upsampled.
FIELD_LONG_SIDE = 384
# Mid-cheek points (one per side) where the key/fill ratio is defined and measured.
CHEEK_A, CHEEK_B = 50, 280
# Canonical mid-cheek normal: turned this far from the camera axis. The preset ratio is the shading ratio between
# the key-side and fill-side normals at this angle.
CHEEK_ANGLE_DEGREES = 35.0
# Share of the selfie's own directional light (fitted on the face) that is taken out before the new light goes in:
# not all of it, since cast shadows (nose, brows) are not in a smooth fit and fighting them looks wrong.
DELIGHT_SHARE = 0.9
# The per-pixel light gain never leaves these bounds (linear light): studio light, not an effect.
MIN_GAIN, MAX_GAIN = 0.25, 2.0
# A key/fill asymmetry in the selfie this strong (ratio of the fitted shading between the cheeks) decides the key
# side: reinforcing the light the photo already has never fights its cast shadows.
SELFIE_KEY_EVIDENCE = 1.15
# Catchlights: offset from the iris centre toward the key (iris radii), size (iris radii), peak lift (8-bit levels);
# never drawn when the eye is nearly shut.
CATCHLIGHT_OFFSET = 0.38
CATCHLIGHT_RADIUS = 0.16
CATCHLIGHT_PEAK = 85.0
MIN_EYE_OPENNESS = 0.15
# Rim light: band width (fraction of the frame's long side) inside the matte edge.
RIM_WIDTH = 0.012
# Proxy normals for hair, neck and clothes: the matte blurred at this sigma (fraction of the long side) is read as
# a height field whose slope gives the normal.
PROXY_SIGMA = 0.05
PROXY_SLOPE = 0.45


@dataclass(frozen=True)
class LightingPreset:
    ratio: float            # key-side : fill-side light on the cheeks
    key_azimuth: float      # degrees from the camera axis toward the key side
    key_elevation: float    # degrees above the camera axis
    wrap: float             # 0 = hard Lambert terminator, larger = softer (bigger) source
    rim: float              # rim light gain at the matte edge (linear light)
    background_glow: float  # extra backdrop light behind the head
    background_vignette: float  # backdrop darkening at the corners
    catchlight: float       # catchlight strength (share of CATCHLIGHT_PEAK)


PRESETS: dict[str, LightingPreset] = {
    # A large, frontal source: about 2:1, no visible terminator.
    "soft": LightingPreset(ratio=2.0, key_azimuth=45.0, key_elevation=20.0, wrap=0.35, rim=0.10,
                           background_glow=0.10, background_vignette=0.12, catchlight=0.8),
    # Classic loop lighting: key ~40 degrees to the side and above, about 3:1.
    "studio": LightingPreset(ratio=3.0, key_azimuth=50.0, key_elevation=30.0, wrap=0.2, rim=0.16,
                             background_glow=0.14, background_vignette=0.18, catchlight=1.0),
    # Low-key: about 6:1 with a stronger rim and a darker backdrop edge.
    "dramatic": LightingPreset(ratio=6.0, key_azimuth=65.0, key_elevation=30.0, wrap=0.05, rim=0.28,
                               background_glow=0.12, background_vignette=0.40, catchlight=1.0),
    # Window light that barely departs from the selfie.
    "natural": LightingPreset(ratio=1.4, key_azimuth=35.0, key_elevation=20.0, wrap=0.6, rim=0.05,
                              background_glow=0.05, background_vignette=0.06, catchlight=0.5),
}


_FILL = np.array([0.0, 0.0, 1.0])


class LightingError(ValueError):
    """A LightingInput field is malformed; the message names the field."""


@dataclass(frozen=True)
class LightingInput:
    rgb: np.ndarray
    matte: np.ndarray
    mesh: FaceMesh | None
    preset: str

    def check(self) -> None:
        if not isinstance(self.rgb, np.ndarray) or self.rgb.dtype != np.uint8 or self.rgb.ndim != 3 \
                or self.rgb.shape[2] != 3:
            raise LightingError("rgb must be an H x W x 3 uint8 array")
        if not isinstance(self.matte, np.ndarray) or self.matte.shape != self.rgb.shape[:2]:
            raise LightingError(f"matte must be an H x W array matching rgb {self.rgb.shape[:2]}")
        if self.mesh is not None and not isinstance(self.mesh, FaceMesh):
            raise LightingError("mesh must be a FaceMesh or None")
        if self.preset not in PRESETS:
            raise LightingError(f"unknown lighting preset {self.preset!r}; known: {', '.join(PRESETS)}")


@dataclass(frozen=True)
class LightingOutput:
    rgb: np.ndarray
    # float32 HxW multiplier for the backdrop (background light falloff), applied by the compositor.
    background_gain: np.ndarray
    params: dict[str, Any]


# -- mesh geometry -------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def mesh_triangles() -> np.ndarray:
    """(T, 3) vertex indices of the face mesh's triangles: every 3-cycle of the tesselation's edges."""
    neighbours: dict[int, set[int]] = {}
    for a, b in TESSELATION_EDGES:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    triangles = set()
    for a, near in neighbours.items():
        for b in near:
            if b <= a:
                continue
            for c in near & neighbours[b]:
                if c > b:
                    triangles.add((a, b, c))
    return np.array(sorted(triangles), dtype=np.int32)


def vertex_normals(mesh: FaceMesh) -> np.ndarray:
    """(468, 3) unit normals in camera axes (x right, y up, z toward the camera), area-weighted over triangles."""
    p = mesh.points[:468].astype(np.float64)
    camera = np.stack([p[:, 0], -p[:, 1], -p[:, 2]], axis=1)  # mediapipe: y down, z away from the camera
    tri = mesh_triangles()
    tri = tri[(tri < 468).all(axis=1)]
    a, b, c = camera[tri[:, 0]], camera[tri[:, 1]], camera[tri[:, 2]]
    normals = np.cross(b - a, c - a)
    normals[normals[:, 2] < 0] *= -1.0  # the face is a height field seen from the front: every facet faces us
    out = np.zeros_like(camera)
    for k in range(3):
        np.add.at(out, tri[:, k], normals)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    return out


# -- the stage -----------------------------------------------------------------------------------------------------


def relight(inp: LightingInput) -> LightingOutput:
    """Key/fill shading on the face and body, a rim light, catchlights and the backdrop falloff for one preset."""
    inp.check()
    preset = PRESETS[inp.preset]
    height, width = inp.rgb.shape[:2]
    scale = min(1.0, FIELD_LONG_SIDE / max(height, width))
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    matte = cv2.resize(inp.matte.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    rgb_small = cv2.resize(inp.rgb, size, interpolation=cv2.INTER_AREA)
    params: dict[str, Any] = {"preset": inp.preset, "ratio": preset.ratio}

    normals = _proxy_normals(matte)
    mesh = inp.mesh
    face_weight = np.zeros(matte.shape, dtype=np.float32)
    key_side = -1.0  # -1: key light on the image's left (camera left)
    if mesh is not None:
        face_normals, face_weight = _face_normal_field(mesh, scale, size)
        selfie_light = _fit_selfie_light(rgb_small, mesh, scale, size, face_normals, face_weight)
        normals = _normalise(normals * (1.0 - face_weight[..., None]) + face_normals * face_weight[..., None])
        key_side, reason = _key_side(mesh, selfie_light)
        params.update({"key_side": "image_left" if key_side < 0 else "image_right", "key_side_reason": reason,
                       "selfie_light_xy": [round(float(v), 4) for v in selfie_light]})
        # The preset's ratio holds exactly between this face's own cheek normals (where it is measured).
        # (the smoothed field's normals there, which the shading reads, not the sharper vertex normals)
        cheek_px = np.round(mesh.points[[CHEEK_A, CHEEK_B], :2] * scale).astype(int)
        cheek_px = np.clip(cheek_px, 0, [size[0] - 1, size[1] - 1])
        cheeks = normals[cheek_px[:, 1], cheek_px[:, 0]]
        key_cheek, fill_cheek = (cheeks[0], cheeks[1]) if key_side < 0 else (cheeks[1], cheeks[0])
        weights = key_fill_weights(preset, key_cheek, fill_cheek)
        params["key_fill_weights"] = [round(weights[0], 4), weights[1]]
        # Only the side-to-side part of the new light goes in (log domain: shading multiplies albedo), and the
        # selfie's own side-to-side light comes out: the photo already holds the front-to-side falloff, and a
        # body facing the camera keeps its brightness. Between the cheeks this gives exactly the preset's ratio.
        mirrored = normals * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
        log_gain = 0.5 * (np.log(_shading(normals, preset, key_side, weights)) -
                          np.log(_shading(mirrored, preset, key_side, weights)))
        log_gain -= DELIGHT_SHARE * selfie_light[0] * normals[..., 0]
        # Face exposure was settled earlier: the face's mean light stays where it was.
        face_skin = face_weight > 0.5
        log_gain -= float(np.mean(log_gain[face_skin])) if face_skin.any() else 0.0
        gain = np.exp(np.clip(log_gain, math.log(MIN_GAIN), math.log(MAX_GAIN)))
    else:
        # No mesh: no face normals to shade from, so no key/fill; the rim and the backdrop still work.
        gain = np.ones(matte.shape, dtype=np.float32)
        params.update({"degraded": "no_face_mesh", "key_side": "image_left"})
    rim = _rim(matte, normals, preset, key_side, mesh, scale)
    gain = gain * (1.0 + rim)
    # Outside the person the gain is 1, and it fades in with the matte.
    gain = 1.0 + (gain - 1.0) * np.clip(matte * 1.5, 0.0, 1.0)

    # Linear-light gain g is a gain of g^(1/2.2) on gamma-encoded values (the sRGB curve is close to a 2.2 power).
    encoded_gain = cv2.resize(np.power(gain, 1 / 2.2).astype(np.float32), (width, height),
                              interpolation=cv2.INTER_LINEAR)
    out = inp.rgb.astype(np.float32) * encoded_gain[..., None]
    _shoulder(out)
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if mesh is not None:
        params["catchlights"] = _catchlights(result, mesh, preset, key_side)
    params.update({"rim": preset.rim, "gain_range": [round(float(gain.min()), 3), round(float(gain.max()), 3)]})
    background = _background_gain(inp.matte.shape, matte, mesh, preset, scale)
    return LightingOutput(result, background, params)


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-6)).astype(np.float32)


def _proxy_normals(matte: np.ndarray) -> np.ndarray:
    """Normals for the whole subject from its silhouette: the blurred matte read as a height field."""
    sigma = PROXY_SIGMA * max(matte.shape)
    height = cv2.GaussianBlur(matte, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    k = PROXY_SLOPE * sigma * 4.0
    # Height rises into the person, so the surface faces away from the gradient; y flips to "up".
    n = np.stack([-gx * k, gy * k, np.ones_like(matte)], axis=-1)
    return _normalise(n)


def _face_normal_field(mesh: FaceMesh, scale: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel normals over the face and around it, and a soft face weight.

    Vertex normals are spread by normalised convolution twice: finely inside the face oval and broadly (a quarter
    face) around it, so hair and ears next to a cheek turn the way the cheek does and no seam shows at the oval.
    """
    width, height = size
    normals = vertex_normals(mesh)
    xy = mesh.points[:468, :2] * scale
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, width - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, height - 1)
    acc = np.zeros((height, width, 3), dtype=np.float32)
    count = np.zeros((height, width), dtype=np.float32)
    np.add.at(acc, (iy, ix), normals.astype(np.float32))
    np.add.at(count, (iy, ix), 1.0)
    oval = mesh.xy(FACE_OVAL) * scale
    face_size = float(np.ptp(oval[:, 0]))
    # Mesh vertices are about 1/20 of the face width apart; light is smoother than the mesh's small facets.
    fine = _normalise(cv2.GaussianBlur(acc, (0, 0), max(1.0, face_size / 14.0)) /
                      np.maximum(cv2.GaussianBlur(count, (0, 0), max(1.0, face_size / 14.0))[..., None], 1e-6))
    broad_sigma = max(1.0, face_size / 4.0)
    broad_count = cv2.GaussianBlur(count, (0, 0), broad_sigma)
    broad = _normalise(cv2.GaussianBlur(acc, (0, 0), broad_sigma) / np.maximum(broad_count[..., None], 1e-6))
    core = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(core, [np.round(oval * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    core = np.clip(cv2.GaussianBlur(core.astype(np.float32) / 255.0, (0, 0), max(1.0, face_size / 10.0)) * 1.3 - 0.15,
                   0.0, 1.0)
    reach = np.clip(broad_count / max(float(broad_count.max()), 1e-6) * 3.0, 0.0, 1.0)
    field = _normalise(fine * core[..., None] + broad * (1.0 - core[..., None]))
    return field, np.maximum(core, reach).astype(np.float32)


def _fit_selfie_light(rgb_small: np.ndarray, mesh: FaceMesh, scale: float, size: tuple[int, int],
                      normals: np.ndarray, face_weight: np.ndarray) -> np.ndarray:
    """(cx, cy): the selfie's own directional light, log-luminance ~ c0 + cx nx + cy ny + cz nz fitted on the skin."""
    grid = Grid((0.0, 0.0), scale, size)
    skin = skin_polygon_mask(mesh, grid) > 0.5
    skin &= face_weight > 0.5
    if skin.sum() < 30:
        return np.zeros(2, dtype=np.float64)
    linear = np.power(rgb_small.astype(np.float32) / 255.0, 2.2) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    # The fit wants the shading, not freckles and pores.
    linear = cv2.GaussianBlur(linear, (0, 0), max(1.0, 0.01 * max(size)))
    y = np.log(np.maximum(linear[skin], 1e-4))
    n = normals[skin]
    design = np.column_stack([np.ones(len(y)), n[:, 0], n[:, 1], n[:, 2]])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.clip(coef[1:3], -1.5, 1.5)


def _key_side(mesh: FaceMesh, selfie_light: np.ndarray) -> tuple[float, str]:
    """-1 for a key on the image's left, +1 for the right, and why."""
    cheek_ratio = math.exp(2.0 * abs(float(selfie_light[0])) * math.sin(math.radians(CHEEK_ANGLE_DEGREES)))
    if cheek_ratio >= SELFIE_KEY_EVIDENCE:
        return (1.0 if selfie_light[0] > 0 else -1.0), "follows_selfie_light"
    # Short lighting: the key on the side the face turns toward lights the far side of the face.
    p = mesh.points
    turn = float(p[NOSE_TIP, 0] - 0.5 * (p[LEFT_CHEEK, 0] + p[RIGHT_CHEEK, 0]))
    face = float(abs(p[RIGHT_CHEEK, 0] - p[LEFT_CHEEK, 0])) or 1.0
    if abs(turn) / face > 0.04:
        return (1.0 if turn > 0 else -1.0), "short_lighting"
    return -1.0, "camera_left_default"


def _light_direction(azimuth: float, elevation: float, side: float) -> np.ndarray:
    az, el = math.radians(azimuth), math.radians(elevation)
    return np.array([side * math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])


def _wrapped(normals: np.ndarray, direction: np.ndarray, wrap: float) -> np.ndarray:
    return np.maximum((normals @ direction.astype(np.float32) + wrap) / (1.0 + wrap), 0.0)


def key_fill_weights(preset: LightingPreset, key_cheek: np.ndarray | None = None,
                     fill_cheek: np.ndarray | None = None) -> tuple[float, float]:
    """Key and fill intensities that give the preset's ratio between the key-side and fill-side cheek normals.

    The cheeks default to canonical normals turned CHEEK_ANGLE_DEGREES from the camera (key on the image's left);
    the fill comes from the camera (on-axis, soft) with intensity 1.
    """
    angle = math.radians(CHEEK_ANGLE_DEGREES)
    canonical_key = np.array([-math.sin(angle), 0.0, math.cos(angle)], dtype=np.float32)
    canonical_fill = np.array([math.sin(angle), 0.0, math.cos(angle)], dtype=np.float32)
    key = _light_direction(preset.key_azimuth, preset.key_elevation, -1.0)
    for attempt in ((key_cheek, fill_cheek), (canonical_key, canonical_fill)):
        if attempt[0] is None or attempt[1] is None:
            continue
        kc, fc = (np.asarray(v, dtype=np.float32)[None] for v in attempt)
        if kc[0, 0] > 0:  # given for a key on the right: mirror into the key-left frame used here
            kc, fc = kc * [[-1, 1, 1]], fc * [[-1, 1, 1]]
        k_key, k_fill = float(_wrapped(kc, key, preset.wrap)[0]), float(_wrapped(fc, key, preset.wrap)[0])
        f_key, f_fill = float(_wrapped(kc, _FILL, 0.5)[0]), float(_wrapped(fc, _FILL, 0.5)[0])
        # (K k_key + f_key) / (K k_fill + f_fill) = ratio, solved for K.
        denominator = k_key - preset.ratio * k_fill
        if denominator > 1e-3:
            weight = (preset.ratio * f_fill - f_key) / denominator
            if weight > 0:
                return weight, 1.0
    raise LightingError(f"preset ratio {preset.ratio} is out of reach for its key direction")


def _shading(normals: np.ndarray, preset: LightingPreset, key_side: float,
             weights: tuple[float, float]) -> np.ndarray:
    key_weight, fill_weight = weights
    key = _light_direction(preset.key_azimuth, preset.key_elevation, key_side)
    shading = key_weight * _wrapped(normals, key, preset.wrap) + fill_weight * _wrapped(normals, _FILL, 0.5)
    return np.maximum(shading, 1e-3)


def _rim(matte: np.ndarray, normals: np.ndarray, preset: LightingPreset, key_side: float,
         mesh: FaceMesh | None, scale: float) -> np.ndarray:
    """Rim ("hair") light: a band just inside the silhouette, on the side away from the key and along the top."""
    band_px = max(1.0, RIM_WIDTH * max(matte.shape))
    inner = cv2.GaussianBlur(matte, (0, 0), band_px, borderType=cv2.BORDER_REPLICATE)
    band = np.clip(matte - inner, 0.0, 1.0) * 2.0
    away = np.clip(-key_side * normals[..., 0], 0.0, 1.0)  # the normal points away from the key
    up = np.clip(normals[..., 1], 0.0, 1.0)
    direction = np.clip(0.35 + 0.9 * away + 0.6 * up, 0.0, 1.3)
    # Rim light lives on the head and the top of the shoulders, not on the frame-edge fade lower down.
    height = matte.shape[0]
    if mesh is not None:
        chin = float(mesh.points[CHIN, 1]) * scale
        head = chin - float(mesh.points[FOREHEAD, 1]) * scale
    else:
        rows = np.nonzero(matte.max(axis=1) > 0.5)[0]
        chin = (rows[0] + 0.35 * height) if rows.size else 0.5 * height
        head = 0.25 * height
    ramp = np.clip((chin + 1.2 * head - np.arange(height, dtype=np.float32)) / max(0.8 * head, 1.0), 0.0, 1.0)
    return (preset.rim * np.clip(band, 0.0, 1.0) * direction * ramp[:, None]).astype(np.float32)


def _shoulder(values: np.ndarray, knee: float = 235.0) -> None:
    """In place: values above `knee` roll off smoothly toward 255 instead of clipping."""
    over = values > knee
    if over.any():
        v = values[over]
        values[over] = knee + (255.0 - knee) * np.tanh((v - knee) / (255.0 - knee))


def iris_radius(mesh: FaceMesh, iris) -> float:
    centre = mesh.points[iris[0], :2]
    return float(np.mean(np.linalg.norm(mesh.points[list(iris[1:]), :2] - centre, axis=1)))


def _catchlights(rgb: np.ndarray, mesh: FaceMesh, preset: LightingPreset, key_side: float) -> list[dict[str, Any]]:
    """In place: a small soft highlight in each open eye's iris, up and toward the key; bounded to the iris."""
    placed = []
    openness = mesh.eye_openness()
    for iris, contour, open_ in ((LEFT_IRIS, EYE_A_CONTOUR, openness[0]), (RIGHT_IRIS, EYE_B_CONTOUR, openness[1])):
        radius = iris_radius(mesh, iris)
        if open_ < MIN_EYE_OPENNESS or radius < 2.0:
            placed.append({"placed": False})
            continue
        centre = mesh.points[iris[0], :2]
        spot = centre + CATCHLIGHT_OFFSET * radius * np.array([key_side * 0.8, -0.6])
        half = int(math.ceil(1.3 * radius)) + 2
        x0, y0 = int(centre[0]) - half, int(centre[1]) - half
        x1, y1 = x0 + 2 * half + 1, y0 + 2 * half + 1
        if x0 < 0 or y0 < 0 or x1 > rgb.shape[1] or y1 > rgb.shape[0]:
            placed.append({"placed": False})
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        sigma = max(0.6, CATCHLIGHT_RADIUS * radius)
        blob = np.exp(-((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (2 * sigma * sigma))
        # Bounded: only inside the iris disc and inside the eye opening (never on a lid).
        bound = np.zeros(blob.shape, dtype=np.uint8)
        cv2.circle(bound, (int(round((centre[0] - x0) * 4)), int(round((centre[1] - y0) * 4))),
                   int(0.9 * radius * 4), 1, -1, lineType=cv2.LINE_8, shift=2)
        opening = np.zeros(blob.shape, dtype=np.uint8)
        cv2.fillPoly(opening, [np.round((mesh.xy(contour) - [x0, y0]) * 4).astype(np.int32)], 1, shift=2)
        blob *= bound * opening
        patch = rgb[y0:y1, x0:x1].astype(np.float32)
        lift = CATCHLIGHT_PEAK * preset.catchlight * blob
        # Toward a slightly warm white, never past it.
        patch += lift[..., None] * (np.array([250.0, 250.0, 245.0]) - patch) / 255.0 * 1.8
        rgb[y0:y1, x0:x1] = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
        placed.append({"placed": True, "x": round(float(spot[0]), 1), "y": round(float(spot[1]), 1),
                       "sigma_px": round(sigma, 2)})
    return placed


def _background_gain(shape: tuple[int, int], matte_small: np.ndarray, mesh: FaceMesh | None,
                     preset: LightingPreset, scale: float) -> np.ndarray:
    """Backdrop light: a soft glow centred behind the head, falling off toward the corners."""
    height, width = matte_small.shape
    if mesh is not None:
        oval = mesh.xy(FACE_OVAL) * scale
        cx, cy = float(oval[:, 0].mean()), float(oval[:, 1].mean())
        head = float(np.ptp(oval[:, 1]))
    else:
        rows = np.nonzero(matte_small.max(axis=1) > 0.5)[0]
        top = rows[0] if rows.size else 0
        columns = np.nonzero(matte_small[min(top + 2, height - 1)] > 0.5)[0]
        cx = float(columns.mean()) if columns.size else width / 2.0
        head = 0.3 * height
        cy = top + 0.5 * head
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * (1.3 * head) ** 2))
    corner = ((xx - cx) / max(cx, width - cx)) ** 2 + ((yy - cy) / max(cy, height - cy)) ** 2
    vignette = 1.0 - preset.background_vignette * np.clip(corner / 2.0, 0.0, 1.0)
    gain = (1.0 + preset.background_glow * glow) * vignette
    return cv2.resize(gain.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
