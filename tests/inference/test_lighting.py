"""Relighting: key/fill at the preset's ratio from face-mesh normals, a rim light away from the key, catchlights in
the irises, a backdrop glow behind the head."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.face_mesh import FACE_OVAL, LEFT_IRIS, RIGHT_IRIS
from inference.lighting import (
    CHEEK_A,
    CHEEK_B,
    PRESETS,
    LightingError,
    LightingInput,
    iris_radius,
    mesh_triangles,
    relight,
    vertex_normals,
)
from inference.retouch import face_width

# Selfies whose own light is fairly even, so what is measured is the new light.
EVEN_LIGHT = ("scarlett/1.jpg", "barack_obama/1.jpg")


def _linear_luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) / 255.0) ** 2.2 @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def _cheek(rgb: np.ndarray, mesh, index: int) -> float:
    x, y = mesh.points[index, :2].astype(int)
    r = max(2, int(0.05 * face_width(mesh)))
    return float(_linear_luma(rgb[y - r:y + r, x - r:x + r]).mean())


def _key_fill_ratio(out, mesh) -> float:
    a, b = _cheek(out.rgb, mesh, CHEEK_A), _cheek(out.rgb, mesh, CHEEK_B)  # CHEEK_A is on the image's left
    return a / b if out.params["key_side"] == "image_left" else b / a


def test_the_key_side_of_the_face_is_brighter_by_about_the_preset_ratio(finishing_subjects):
    for name in EVEN_LIGHT:
        image, matte, mesh = finishing_subjects[name]
        measured = {}
        for preset in ("soft", "studio", "dramatic"):
            measured[preset] = _key_fill_ratio(relight(LightingInput(image, matte, mesh, preset)), mesh)
            target = PRESETS[preset].ratio
            # "Roughly": the gain is bounded (studio light, not an effect) and 10% of the selfie's light remains.
            assert 0.6 * target <= measured[preset] <= 1.3 * target, f"{name} {preset}: {measured[preset]:.2f}"
        assert measured["soft"] < measured["studio"] < measured["dramatic"], f"{name}: {measured}"


def test_relighting_keeps_the_face_exposure(finishing_subjects):
    image, matte, mesh = finishing_subjects["scarlett/1.jpg"]
    x0, y0 = mesh.xy(FACE_OVAL).min(axis=0).astype(int)
    x1, y1 = mesh.xy(FACE_OVAL).max(axis=0).astype(int)
    before = _linear_luma(image[y0:y1, x0:x1]).mean()
    after = _linear_luma(relight(LightingInput(image, matte, mesh, "studio")).rgb[y0:y1, x0:x1]).mean()
    assert after == pytest.approx(before, rel=0.12), "light is moved across the face, not added to it"


def test_catchlights_land_inside_the_irises(finishing_subjects):
    for name, (image, matte, mesh) in finishing_subjects.items():
        out = relight(LightingInput(image, matte, mesh, "studio"))
        # Compare with the same light without catchlights: only the catchlights differ.
        placed = [c for c in out.params["catchlights"] if c["placed"]]
        assert placed, f"{name}: open eyes should get catchlights"
        for iris in (LEFT_IRIS, RIGHT_IRIS):
            centre, radius = mesh.points[iris[0], :2], iris_radius(mesh, iris)
            half = int(3 * radius)
            cx, cy = centre.astype(int)
            window = (slice(cy - half, cy + half), slice(cx - half, cx + half))
            # The shading gain is smooth and multiplies; a catchlight is a sharp local lift: find it as a pixel
            # whose gain stands far above the smooth gain around it, by a visible amount.
            before, after = image[window].astype(np.float32).mean(-1), out.rgb[window].astype(np.float32).mean(-1)
            gain = (after + 1.0) / (before + 1.0)
            smooth = cv2.GaussianBlur(gain, (0, 0), radius)
            lifted = np.argwhere((gain > smooth + 0.2) & (after - before * smooth > 20))
            assert lifted.size, f"{name}: no catchlight near iris {iris[0]}"
            distance = np.hypot(lifted[:, 1] + cx - half - centre[0], lifted[:, 0] + cy - half - centre[1])
            assert distance.max() <= radius + 1.0, f"{name}: catchlight leaves the iris ({distance.max():.1f} px)"


def test_catchlights_sit_on_the_key_side(finishing_subjects):
    image, matte, mesh = finishing_subjects["barack_obama/1.jpg"]
    out = relight(LightingInput(image, matte, mesh, "soft"))
    side = -1 if out.params["key_side"] == "image_left" else 1
    for catchlight, iris in zip(out.params["catchlights"], (LEFT_IRIS, RIGHT_IRIS), strict=True):
        assert catchlight["placed"]
        assert np.sign(catchlight["x"] - mesh.points[iris[0], 0]) == side
        assert catchlight["y"] < mesh.points[iris[0], 1], "the key light is above the eyes"


def test_background_light_is_brightest_behind_the_head_and_falls_off_to_the_corners(finishing_subjects):
    image, matte, mesh = finishing_subjects["jennifer/4.jpg"]
    for preset in PRESETS:
        gain = relight(LightingInput(image, matte, mesh, preset)).background_gain
        assert gain.shape == matte.shape and gain.dtype == np.float32
        y, x = np.unravel_index(np.argmax(gain), gain.shape)
        oval = mesh.xy(FACE_OVAL)
        (x0, y0), (x1, y1) = oval.min(axis=0), oval.max(axis=0)
        assert x0 <= x <= x1 and y0 <= y <= y1, f"{preset}: the glow peaks at ({x}, {y}), not behind the head"
        corners = [gain[0, 0], gain[0, -1], gain[-1, 0], gain[-1, -1]]
        assert max(corners) < gain.max() - 0.05
        assert 0.5 < gain.min() and gain.max() < 1.3, "a falloff, not a spotlight"


def test_without_a_mesh_only_the_rim_and_the_backdrop_light_remain(finishing_subjects):
    image, matte, mesh = finishing_subjects["barack_obama/1.jpg"]
    out = relight(LightingInput(image, matte, None, "dramatic"))
    assert out.params["degraded"] == "no_face_mesh"
    assert "catchlights" not in out.params
    # The face (far from the silhouette) is untouched; the rim is brighter on the side away from the key.
    x, y = mesh.points[1, :2].astype(int)
    assert np.abs(out.rgb[y - 20:y + 20, x - 20:x + 20].astype(int) - image[y - 20:y + 20, x - 20:x + 20]).max() <= 1
    change = out.rgb.astype(float).mean(-1) - image.astype(float).mean(-1)
    head = slice(int(mesh.points[10, 1]) - 40, int(mesh.points[152, 1]))
    middle = image.shape[1] // 2
    assert out.params["key_side"] == "image_left"
    assert change[head, middle:].sum() > 1.5 * change[head, :middle].sum() > 0


def test_face_normals_come_from_the_mesh_triangles_and_face_the_camera(finishing_subjects):
    triangles = mesh_triangles()
    assert 850 <= len(triangles) <= 1000, "mediapipe's tesselation has 898 triangles"
    _, _, mesh = finishing_subjects["jennifer/4.jpg"]
    normals = vertex_normals(mesh)
    assert (normals[:, 2] > 0).mean() > 0.95
    # Cheeks turn away from the nose: the image-left cheek's normal points left, the other right.
    assert normals[CHEEK_A, 0] < -0.2 and normals[CHEEK_B, 0] > 0.2


def test_unknown_preset_and_bad_matte_are_refused(finishing_subjects):
    image, matte, mesh = finishing_subjects["jennifer/4.jpg"]
    with pytest.raises(LightingError, match="disco"):
        relight(LightingInput(image, matte, mesh, "disco"))
    with pytest.raises(LightingError, match="matte"):
        relight(LightingInput(image, matte[:10], mesh, "soft"))
