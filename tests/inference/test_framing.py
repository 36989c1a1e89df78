"""Framing: one similarity transform puts the eyes on the brand's line, levelled, with the brand's head size."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from inference.brand import Framing
from inference.face_detect import Face
from inference.framing import (
    FRAMING_VARIANTS,
    HEAD_HEIGHT_PER_EYE_DISTANCE,
    MAX_TIGHTEN,
    choose_framing,
    estimate_head_height,
    frame_subject,
    framing_variant,
    output_size,
    plan_framing,
    resize_plan,
)
from inference.framing_qc import hard_edge_score


def synthetic_face(cx: float, cy: float, eye_distance: float, roll_degrees: float = 0.0,
                   nose_drop: float | None = None) -> Face:
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


def warped_matte(matte: np.ndarray, plan, *, fade: float = 0.0) -> np.ndarray:
    """The source matte warped into the frame with nothing past the selfie's border: cut there (fade=0), or faded to
    0 over `fade` of the frame height inside the border (a smoothstep), the reference cases for hard_edge_score."""
    if fade > 0.0:
        height, width = matte.shape
        reach = max(fade * plan.frame_height / plan.scale, 1.0)  # the fade's width in source pixels
        ramp_x = np.minimum(np.arange(width) + 0.5, width - 0.5 - np.arange(width)) / reach
        ramp_y = np.minimum(np.arange(height) + 0.5, height - 0.5 - np.arange(height)) / reach
        ramp = np.clip(np.minimum.outer(ramp_y, ramp_x) - 0.5 / reach, 0.0, 1.0).astype(np.float32)
        matte = matte * (ramp * ramp * (3.0 - 2.0 * ramp))
    return cv2.warpAffine(matte.astype(np.float32), np.array(plan.matrix, dtype=np.float64),
                          (plan.frame_width, plan.frame_height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


# -- variants, tightening and the selfie's border ----------------------------------------------------------------

# Dev selfies whose own border falls inside the brand frame next to the body: a narrow photo cut at both
# shoulders, tight crops cut at the chest, a bare-shouldered dress.
BORDER_SHOWS = ("barack_obama/2.jpg", "angelina/5.jpg", "scarlett/3.jpg", "jennifer/1.jpg")
# What "no hard line" means: the steepest change the border causes in the matte, per 0.5% of frame height. A cut
# scores 1.0; the old 6% fade inside the border 0.125; the extension 0.03-0.085 on all 41 adult dev faces.
HARD_EDGE_BOUND = 0.1


@pytest.fixture(scope="module")
def models():
    from inference.face_detect import FaceAnalyzer
    from inference.segmentation import PersonSegmenter

    segmenter = PersonSegmenter()
    yield FaceAnalyzer(), segmenter
    segmenter.close()


def dev_selfie(models, name: str, framing: Framing, size: tuple[int, int]):
    from inference.face_detect import prominent_faces
    from inference.ingest import decode_image

    from .conftest import FACES

    analyzer, segmenter = models
    rgb = decode_image((FACES / name).read_bytes()).rgb
    face = prominent_faces(analyzer.detect(rgb))[0]
    base = plan_framing(face, framing, size)
    left, top, right, bottom = base.source_region(rgb.shape[1], rgb.shape[0])
    matte = np.zeros(rgb.shape[:2], np.float32)
    matte[top:bottom, left:right] = segmenter.matte(rgb[top:bottom, left:right], face.translated(-left, -top))
    return rgb, face, matte


@pytest.mark.parametrize("variant", FRAMING_VARIANTS)
def test_every_framing_variant_is_a_valid_framing_with_headroom(variant):
    framing = framing_variant(Framing(), variant)
    framing.check()
    crown = framing.eye_line - 0.5 * framing.head_height
    assert crown >= 0.14, "the crown never touches the top of the frame"
    if variant == "close_up":
        assert framing.head_height > Framing().head_height and framing.aspect == Framing().aspect
    if variant == "square_avatar":
        assert framing.aspect == 1.0


def test_output_size_puts_the_long_side_on_the_requested_pixels():
    assert output_size(Framing(aspect=0.8), 2048) == (1638, 2048)
    assert output_size(Framing(aspect=1.0), 2048) == (2048, 2048)
    assert output_size(Framing(aspect=1.5), 2048) == (2048, 1365)


def test_a_resized_plan_is_the_same_framing_at_another_size():
    face = synthetic_face(400, 300, 70, roll_degrees=5)
    plan = plan_framing(face, Framing(), (1638, 2048))
    small = resize_plan(plan, (819, 1024))
    big_eye, small_eye = apply(plan.matrix, face.left_eye), apply(small.matrix, face.left_eye)
    assert small_eye[0] == pytest.approx(big_eye[0] / 2, abs=0.01)
    assert small_eye[1] == pytest.approx(big_eye[1] / 2, abs=0.01)


def test_tightening_keeps_the_eye_line_exact_and_stays_within_bounds():
    # A small photo with the body filling its lower part: its bottom edge shows inside the brand frame.
    matte = np.zeros((400, 300), np.float32)
    matte[250:, 40:260] = 1.0
    face = synthetic_face(150, 200, 40)
    framing = Framing()
    choice = choose_framing(face, framing, (800, 1000), matte)
    assert choice.exposure_before > 0.0
    assert choice.tightened and 1.0 < choice.tighten <= MAX_TIGHTEN + 1e-9
    assert choice.exposure_after < choice.exposure_before
    left, right = apply(choice.plan.matrix, face.left_eye), apply(choice.plan.matrix, face.right_eye)
    assert left[1] == pytest.approx(framing.eye_line * 1000, abs=1e-6) and right[1] == pytest.approx(left[1], abs=1e-6)
    head = choice.plan.scale * estimate_head_height(face) / 1000
    assert head == pytest.approx(framing.head_height * choice.tighten, rel=1e-6)
    assert choice.as_measurements()["framing_tightened"] is True


def test_a_selfie_that_covers_the_frame_is_not_tightened():
    matte = np.zeros((3000, 3000), np.float32)
    matte[1600:, 1000:2000] = 1.0
    face = synthetic_face(1500, 1400, 60)
    choice = choose_framing(face, Framing(), (800, 1000), matte)
    assert not choice.tightened and choice.exposure_before == 0.0


def test_hard_edge_score_tells_a_cut_from_a_fade():
    rgb = np.full((400, 300, 3), 90, dtype=np.uint8)
    matte = np.ones((400, 300), dtype=np.float32)
    face = synthetic_face(150, 320, 40)
    plan = plan_framing(face, Framing(), (800, 1000))
    extended = frame_subject(rgb, matte, plan)
    assert apply(plan.matrix, (150, 400))[1] < 1000 - 50, "the set-up must put the photo's border inside the frame"
    assert hard_edge_score(warped_matte(matte, plan), matte, plan) > 0.9
    # A 6% smoothstep fade: its steepest step over 0.5% of the frame is 1.5 x 0.005 / 0.06 = 0.125.
    assert hard_edge_score(warped_matte(matte, plan, fade=0.06), matte, plan) == pytest.approx(0.125, abs=0.02)
    assert hard_edge_score(extended.matte, matte, plan) < 0.06


@pytest.mark.parametrize("name", BORDER_SHOWS)
def test_where_the_selfie_ends_inside_the_frame_there_is_no_hard_line(models, name):
    framing, size = Framing(), (819, 1024)
    rgb, face, matte = dev_selfie(models, name, framing, size)
    choice = choose_framing(face, framing, size, matte)
    assert choice.exposure_before > 0.02, "the set-up: this selfie's border shows in the brand frame"
    assert hard_edge_score(warped_matte(matte, choice.plan), matte, choice.plan) > 0.9, \
        "without care it would be a hard line"
    framed = frame_subject(rgb, matte, choice.plan)
    assert hard_edge_score(framed.matte, matte, choice.plan) < HARD_EDGE_BOUND
    # The body is continued, not erased: just past the border the person is still (nearly) opaque.
    assert framed.matte[-1].max() > 0 or choice.exposure_after < choice.exposure_before


def test_the_extension_continues_the_body_below_a_cut_off_chest(models):
    framing, size = Framing(), (819, 1024)
    rgb, face, matte = dev_selfie(models, "angelina/5.jpg", framing, size)
    choice = choose_framing(face, framing, size, matte)
    framed = frame_subject(rgb, matte, choice.plan)
    bottom = apply(choice.plan.matrix, (face.nose[0], rgb.shape[0]))[1]
    assert bottom < size[1] - 40, "the photo's bottom edge is inside the frame"
    just_past = framed.matte[int(bottom) + 10, :]
    assert just_past.max() > 0.9, "right past the border the body is still there"
    column = framed.matte[int(bottom) + 10:, int(np.argmax(just_past))]
    assert (np.diff(column) <= 1e-3).all(), "then it only dissolves, gently, toward the frame's bottom"
    assert column[-1] < column[0] - 0.2


def _top_cut_case(top_alpha: float):
    """A 400 x 300 'selfie' whose person touches the top border with `top_alpha` there, on a dark wall."""
    rgb = np.full((400, 300, 3), 30, np.uint8)            # dark old background
    rgb[:, 100:200] = (200, 150, 120)                      # the person's colour
    matte = np.zeros((400, 300), np.float32)
    matte[:, 100:200] = 1.0
    matte[:20, 100:200] = top_alpha                        # what the segmentation left at the border
    face = synthetic_face(150, 140, 40)
    plan = plan_framing(face, Framing(aspect=0.8, eye_line=0.42, head_height=0.42), (480, 600))
    return frame_subject(rgb, matte, plan), plan


def test_faint_matte_at_the_selfies_border_is_not_continued_past_it():
    framed, plan = _top_cut_case(0.05)
    above = int(plan.matrix[1][2]) - 2                     # frame rows above the selfie's top border
    assert above > 10, "the case needs the frame to reach past the selfie's top"
    assert framed.matte[:above].max() == 0.0


def test_a_cut_crown_is_continued_in_the_persons_colour_and_rounded_not_widened():
    framed, plan = _top_cut_case(1.0)
    top = int(plan.matrix[1][2]) - 2
    cols = framed.matte[:top] > 0.05
    assert cols.any()
    inside = framed.matte[top + 5] > 0.5
    # Never wider than the person at the border, and narrower further up.
    assert cols.any(axis=0).sum() <= inside.sum() + 0.02 * framed.matte.shape[1]   # the floor blur only
    rows = np.flatnonzero(cols.any(axis=1))
    assert cols[rows[0]].sum() < cols[rows[-1]].sum()
    # No old-background colour mixed in where the continuation is visible.
    visible = framed.matte[:top] > 0.05
    assert framed.rgb[:top][visible].min(axis=0)[0] > 120
