"""Framing: one similarity transform puts the eyes on the brand's line, levelled, with the brand's head size."""
from __future__ import annotations

import math

import numpy as np
import pytest

from inference.brand import BrandSpec, Framing
from inference.face_detect import Face
from inference.framing import (
    HEAD_HEIGHT_PER_EYE_DISTANCE,
    estimate_head_height,
    frame_portrait,
    frame_size,
    plan_framing,
)


def synthetic_face(cx: float, cy: float, eye_distance: float, roll_degrees: float = 0.0, nose_drop: float | None = None) -> Face:
    """A face whose landmarks are placed exactly, so the geometry can be checked without a detector."""
    angle = math.radians(roll_degrees)
    ux, uy = math.cos(angle), math.sin(angle)  # along the eye line
    nx, ny = -uy, ux  # down the face
    half = eye_distance / 2
    corner = eye_distance * 0.15
    drop = 0.75 * eye_distance if nose_drop is None else nose_drop

    def at(along: float, down: float) -> tuple[float, float]:
        return (cx + along * ux + down * nx, cy + along * uy + down * ny)

    landmarks = (at(half + corner, 0), at(half - corner, 0), at(-half - corner, 0), at(-half + corner, 0), at(0, drop))
    size = 2.4 * eye_distance
    return Face(box=(cx - size / 2, cy - size / 3, cx + size / 2, cy + 2 * size / 3), score=2.0, landmarks=landmarks)


def apply(matrix, point):
    (a, b, c), (d, e, f) = matrix
    return (a * point[0] + b * point[1] + c, d * point[0] + e * point[1] + f)


def test_frame_size_is_the_largest_output_width_by_the_brand_aspect():
    assert frame_size(BrandSpec(output_sizes=(512, 1024, 256), framing=Framing(aspect=0.8))) == (1024, 1280)
    assert frame_size(BrandSpec(output_sizes=(600,), framing=Framing(aspect=1.0))) == (600, 600)


def test_head_height_does_not_change_with_roll():
    upright = estimate_head_height(synthetic_face(500, 400, 80))
    tilted = estimate_head_height(synthetic_face(500, 400, 80, roll_degrees=25))
    assert upright == pytest.approx(HEAD_HEIGHT_PER_EYE_DISTANCE * 80, rel=1e-6)
    assert tilted == pytest.approx(upright, rel=1e-6)


def test_a_turned_head_is_sized_from_the_nose_drop_not_the_shortened_eye_distance():
    frontal = synthetic_face(500, 400, 80)
    # Turned ~40 degrees: eyes look 30% closer together, the eye-to-nose drop is unchanged.
    turned = synthetic_face(500, 400, 56, nose_drop=0.75 * 80)
    assert estimate_head_height(turned) == pytest.approx(estimate_head_height(frontal), rel=1e-6)


@pytest.mark.parametrize("roll", [-20.0, 0.0, 8.0])
def test_plan_puts_levelled_eyes_centred_on_the_eye_line_at_the_head_size(roll):
    framing = Framing(aspect=0.8, eye_line=0.4, head_height=0.45)
    face = synthetic_face(700, 300, 90, roll_degrees=roll)
    plan = plan_framing(face, framing, (1000, 1250))
    left, right = apply(plan.matrix, face.left_eye), apply(plan.matrix, face.right_eye)
    assert left[1] == pytest.approx(0.4 * 1250, abs=1e-6)
    assert right[1] == pytest.approx(0.4 * 1250, abs=1e-6)
    assert (left[0] + right[0]) / 2 == pytest.approx(500, abs=1e-6)
    assert left[0] < right[0], "no mirror image"
    head_in_frame = plan.scale * estimate_head_height(face)
    assert head_in_frame == pytest.approx(0.45 * 1250, rel=1e-6)


def test_matte_is_zero_past_the_selfies_border_and_fades_in_smoothly():
    # The face sits low in a small photo, so the photo's bottom edge falls inside the frame.
    rgb = np.full((400, 300, 3), 90, dtype=np.uint8)
    matte = np.ones((400, 300), dtype=np.float32)
    face = synthetic_face(150, 320, 40)
    plan = plan_framing(face, Framing(), (800, 1000))
    framed = frame_portrait(rgb, matte, plan)
    bottom_in_frame = apply(plan.matrix, (150, 400))[1]
    assert bottom_in_frame < 1000 - 50, "the set-up must put the photo's border inside the frame"
    column = framed.matte[:, 400]
    assert (column[int(math.ceil(bottom_in_frame)) + 1:] == 0).all(), "nothing of the person past the photo's edge"
    near = column[int(bottom_in_frame) - 80:int(bottom_in_frame) + 2]
    assert np.abs(np.diff(near)).max() < 0.1, "the cut-off body fades out instead of ending in a hard line"
    assert column[int(bottom_in_frame) - 100] == pytest.approx(1.0, abs=1e-3), "well inside the photo it is opaque"


def test_corners_exposed_by_rotation_are_transparent():
    rgb = np.full((600, 600, 3), 90, dtype=np.uint8)
    matte = np.ones((600, 600), dtype=np.float32)
    face = synthetic_face(300, 250, 60, roll_degrees=30)
    plan = plan_framing(face, Framing(head_height=0.3), (600, 750))
    framed = frame_portrait(rgb, matte, plan)
    inverse = np.linalg.inv(np.vstack([np.array(plan.matrix), [0, 0, 1]]))
    ys, xs = np.mgrid[0:750:5, 0:600:5]
    source = inverse @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    outside = (source[0] < -1) | (source[0] > 601) | (source[1] < -1) | (source[1] > 601)
    assert outside.any(), "the rotation must expose some corner for this test to mean anything"
    assert (framed.matte[ys.ravel()[outside], xs.ravel()[outside]] == 0).all()
