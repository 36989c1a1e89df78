"""Retouching: smoother skin that keeps its stated share of texture, blemishes gone, under-eyes and teeth lifted a
bounded amount."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.face_mesh import EYE_A, EYE_A_CONTOUR, LIPS_INNER
from inference.retouch import (
    MAX_TEETH_LIFT_L,
    MAX_UNDER_EYE_GAIN,
    UNDER_EYE_BOTTOM,
    UNDER_EYE_TOP,
    RetouchError,
    RetouchInput,
    _under_eye_polygon,
    face_grid,
    face_skin_mask,
    face_width,
    retouch,
    texture_share,
    to_lab,
)


def _run(subject, strength=0.5, min_share=0.6, rgb=None):
    image, matte, mesh = subject
    return retouch(RetouchInput(image if rgb is None else rgb, mesh, matte, strength, min_share))


def test_retouch_smooths_skin_but_keeps_the_stated_share_of_texture(finishing_subjects):
    for name, subject in finishing_subjects.items():
        image, matte, mesh = subject
        out = _run(subject)
        # Measured again here with the public measure, not trusted from the stage.
        skin = face_skin_mask(image, mesh) * matte
        share = texture_share(image, out.rgb, skin)
        assert share < 0.97, f"{name}: retouching at strength 0.5 should visibly smooth the skin (share {share:.3f})"
        assert share >= 0.6 - 0.01, f"{name}: over-retouched, only {share:.3f} of the skin texture is left"
        assert out.texture_share == pytest.approx(share, abs=0.02)


@pytest.mark.parametrize("min_share", [0.6, 0.8])
def test_the_strongest_retouch_is_still_bounded_by_min_texture_share(finishing_subjects, min_share):
    for name, subject in finishing_subjects.items():
        out = _run(subject, strength=1.0, min_share=min_share)
        assert out.texture_share >= min_share, f"{name}: {out.texture_share:.3f} < {min_share}"
    # The bound is what stops it: at full strength the smoothing weight was cut below 1 somewhere.
    weights = [_run(s, strength=1.0, min_share=0.8).params["smoothing_weight"] for s in finishing_subjects.values()]
    assert min(weights) < 1.0


def test_a_painted_blemish_is_removed(finishing_subjects):
    image, matte, mesh = finishing_subjects["scarlett/1.jpg"]
    # A small dark-red spot on the cheek, soft-edged like a real one, ~1.2% of the face wide.
    cx, cy = (0.5 * (mesh.points[50, :2] + mesh.points[205, :2])).astype(int)
    radius = max(2, int(round(0.006 * face_width(mesh))))
    spot = np.zeros(image.shape[:2], dtype=np.float32)
    cv2.circle(spot, (int(cx), int(cy)), radius, 1.0, -1)
    spot = cv2.GaussianBlur(spot, (0, 0), radius * 0.4)[..., None]
    painted = np.clip(image * (1 - spot) + spot * np.array([120.0, 45.0, 45.0]), 0, 255).astype(np.uint8)
    out = _run((image, matte, mesh), rgb=painted)
    window = (slice(cy - 2 * radius, cy + 2 * radius + 1), slice(cx - 2 * radius, cx + 2 * radius + 1))
    before = np.abs(painted[window].astype(float) - image[window]).mean()
    after = np.abs(out.rgb[window].astype(float) - image[window]).mean()
    assert out.params["blemishes_removed"] >= 1
    assert after < 0.35 * before, f"the spot is still there: {after:.1f} vs {before:.1f} levels from clean skin"


def test_under_eye_darkness_is_lifted_by_a_bounded_amount(finishing_subjects):
    for name, subject in finishing_subjects.items():
        image, matte, mesh = subject
        out = _run(subject, strength=1.0, min_share=0.3)
        region = np.zeros(image.shape[:2], dtype=np.uint8)
        polygon = _under_eye_polygon(mesh, EYE_A_CONTOUR, EYE_A, UNDER_EYE_TOP + 0.05, UNDER_EYE_BOTTOM - 0.1)
        cv2.fillPoly(region, [np.round(polygon).astype(np.int32)], 1)
        luma_before = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[region > 0].mean()
        luma_after = cv2.cvtColor(out.rgb, cv2.COLOR_RGB2GRAY)[region > 0].mean()
        assert out.params["under_eye_gain"] <= MAX_UNDER_EYE_GAIN
        assert luma_after >= luma_before - 0.5, name
        assert luma_after <= luma_before * MAX_UNDER_EYE_GAIN + 1.0, name


def test_teeth_are_brightened_within_the_cap(finishing_subjects):
    image, matte, mesh = finishing_subjects["angelina/1.jpg"]  # a broad smile
    out = _run((image, matte, mesh), strength=1.0, min_share=0.3)
    assert out.params["teeth"]["applied"]
    mouth = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillPoly(mouth, [np.round(mesh.xy(LIPS_INNER)).astype(np.int32)], 1)
    lab_before, lab_after = to_lab(image)[mouth > 0], to_lab(out.rgb)[mouth > 0]
    teeth = (lab_before[:, 0] > 60) & (np.hypot(lab_before[:, 1], lab_before[:, 2]) < 25)
    lift = lab_after[teeth, 0] - lab_before[teeth, 0]
    assert lift.mean() > 0.3, "visible teeth should get a little brighter"
    assert lift.max() <= MAX_TEETH_LIFT_L + 1.0, "never beyond the cap (no 'perfect white')"
    assert (lab_after[teeth, 2] <= lab_before[teeth, 2] + 0.5).mean() > 0.95, "less yellow, never more"


def test_retouch_changes_nothing_outside_the_face(finishing_subjects):
    image, matte, mesh = finishing_subjects["barack_obama/1.jpg"]
    out = _run((image, matte, mesh), strength=1.0, min_share=0.3)
    _, (left, top, right, bottom) = face_grid(mesh, image.shape[:2])
    outside = np.ones(image.shape[:2], dtype=bool)
    outside[top:bottom, left:right] = False
    assert (out.rgb[outside] == image[outside]).all()


def test_without_a_mesh_or_at_zero_strength_the_photo_is_untouched(finishing_subjects):
    image, matte, mesh = finishing_subjects["jennifer/4.jpg"]
    no_mesh = retouch(RetouchInput(image, None, matte, 0.8, 0.6))
    assert no_mesh.rgb is image and no_mesh.texture_share == 1.0 and no_mesh.params["skipped"] == "no_face_mesh"
    zero = retouch(RetouchInput(image, mesh, matte, 0.0, 0.6))
    assert (zero.rgb == image).all() and zero.texture_share == 1.0


def test_malformed_input_names_the_field(finishing_subjects):
    image, matte, mesh = finishing_subjects["jennifer/4.jpg"]
    with pytest.raises(RetouchError, match="strength"):
        retouch(RetouchInput(image, mesh, matte, 1.5, 0.6))
    with pytest.raises(RetouchError, match="matte"):
        retouch(RetouchInput(image, mesh, matte[:-1], 0.5, 0.6))
    with pytest.raises(RetouchError, match="rgb"):
        retouch(RetouchInput(image.astype(np.float32), mesh, matte, 0.5, 0.6))
