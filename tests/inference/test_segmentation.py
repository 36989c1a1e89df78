"""Person matte: MODNet follows curls and blond hair where mediapipe's 256 px mask lets the old background through;
edge refinement removes the halo the coarse model leaves on a new backdrop."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.quality_matting import busy_texture
from inference.background import background_bleed, composite, estimate_foreground, halo_score, render_background
from inference.brand import Background, Framing
from inference.face_detect import FaceAnalyzer, prominent_faces
from inference.finishing import face_box_from_plan
from inference.framing import frame_subject, plan_framing
from inference.ingest import decode_image
from inference.matting import DEFAULT_MODEL_PATH, PortraitMatter
from inference.segmentation import (
    MATTE_ZERO,
    PORTRAIT_MAX_LOSS,
    PersonSegmenter,
    keep_attached,
    portrait_loss,
    refine_edges,
)

from .conftest import FACES

# Light, red, busy and dark original backgrounds; short hair, long hair, curls.
HALO_FACES = ("barack_obama/2.jpg", "angelina/1.jpg", "alex_lacamoire/3.jpg", "katy_perry/4.jpg", "jennifer/4.jpg")
SIZE = (819, 1024)


@pytest.fixture(scope="module")
def models():
    segmenter = PersonSegmenter()
    yield FaceAnalyzer(), segmenter
    segmenter.close()


def framed(models, name: str, coarse: bool):
    analyzer, segmenter = models
    rgb = decode_image((FACES / name).read_bytes()).rgb
    face = prominent_faces(analyzer.detect(rgb))[0]
    plan = plan_framing(face, Framing(), SIZE)
    left, top, right, bottom = plan.source_region(rgb.shape[1], rgb.shape[0])
    matte = np.zeros(rgb.shape[:2], np.float32)
    crop, local = rgb[top:bottom, left:right], face.translated(-left, -top)
    matte[top:bottom, left:right] = segmenter.coarse_matte(crop, local) if coarse else segmenter.matte(crop, local)
    return frame_subject(rgb, matte, plan)


def test_refined_edges_leave_far_less_halo_on_a_new_backdrop_than_the_coarse_matte(models):
    backdrop = render_background(Background(color="#1f4e79"), *SIZE)
    before, after = [], []
    for name in HALO_FACES:
        coarse = framed(models, name, coarse=True)
        before.append(halo_score(composite(coarse.rgb, coarse.matte, backdrop), coarse.matte, backdrop))
        fine = framed(models, name, coarse=False)
        matte = refine_edges(fine.rgb, fine.matte, fine.inside)
        person = estimate_foreground(fine.rgb, matte)
        after.append(halo_score(composite(person, matte, backdrop), matte, backdrop))
    assert all(a < b for a, b in zip(after, before, strict=True)), f"every face improves: {before} -> {after}"
    assert np.mean(after) < 0.5 * np.mean(before), f"at least halved on average: {before} -> {after}"


def test_refinement_changes_only_a_band_around_the_edge(models):
    fine = framed(models, "barack_obama/2.jpg", coarse=False)
    refined = refine_edges(fine.rgb, fine.matte, fine.inside)
    assert refined.shape == fine.matte.shape and refined.dtype == np.float32
    changed = refined != fine.matte
    assert changed.any()
    assert changed.mean() < 0.1, "a thin band, not the whole matte"
    assert not changed[fine.inside <= 0.5].any(), "the body extended past the selfie's border is left alone"
    assert refined.min() >= 0.0 and refined.max() <= 1.0


def test_halo_score_flags_an_old_background_rim_and_not_a_clean_soft_edge():
    height, width = 200, 160
    backdrop = np.broadcast_to(np.array([31, 78, 121], np.uint8), (height, width, 3)).copy()
    person = np.zeros((height, width, 3), np.uint8)
    person[:] = (40, 30, 25)  # dark hair
    matte = np.zeros((height, width), np.float32)
    matte[60:, 40:120] = 1.0
    # Clean soft edge: partial alpha of the hair colour over the backdrop.
    soft = matte.copy()
    soft[56:60, 40:120] = 0.3
    clean = composite(person, soft, backdrop)
    # Halo: the same partial alpha, but carrying the old light background instead of hair.
    rimmed = clean.copy()
    rimmed[56:60, 40:120] = composite(np.full_like(person, 230), soft, backdrop)[56:60, 40:120]
    assert halo_score(clean, soft, backdrop) < 0.01
    assert halo_score(rimmed, soft, backdrop) > 0.05


def test_only_the_matte_attached_to_the_face_is_kept_and_nobody_is_exactly_zero():
    matte = np.zeros((200, 160), np.float32)
    matte[60:, 40:120] = 1.0
    matte[56:60, 40:120] = 0.3                     # the soft edge stays
    matte[5:25, 60:90] = 0.12                      # a detached glow above the head goes
    matte[100:140, 140:160] = 0.8                  # a neighbour's remnant at the side goes
    matte[180:, :] = np.where(matte[180:, :] > 0, matte[180:, :], MATTE_ZERO / 2)   # invisible tail: exactly 0
    out = keep_attached(matte, (50, 60, 110, 120))
    assert (out[56:60, 40:120] == np.float32(0.3)).all() and (out[60:, 40:120] == 1.0).all()
    assert out[:50].max() == 0.0 and out[100:140, 140:].max() == 0.0
    assert (out[180:, :40] == 0.0).all()


def test_colleagues_beside_the_employee_are_not_part_of_the_matte(models):
    # jack_dorsey/1.jpg: blurred colleagues at both edges of the photo go entirely.
    analyzer, segmenter = models
    rgb = decode_image((FACES / "jack_dorsey" / "1.jpg").read_bytes()).rgb
    face = prominent_faces(analyzer.detect(rgb))[0]
    matte = segmenter.matte(rgb, face)
    assert matte[150:350, :60].max() == 0.0, "the person at the left edge"
    x, y = (int(v) for v in face.nose)
    assert matte[y - 60:y + 40, x - 40:x + 40].min() == 1.0, "his face is whole"


# Curls and blond hair (benchmarks/quality_matting.py measures eight photos and six real busy backgrounds).
HAIR_FACES = ("alex_lacamoire/3.jpg", "jennifer/2.jpg")


@pytest.fixture(scope="module")
def portrait():
    segmenter = PersonSegmenter(PortraitMatter(DEFAULT_MODEL_PATH))
    yield segmenter
    segmenter.close()


def source_matte(segmenter, method: str, rgb, face, plan):
    """As the Finisher makes it: MODNet on the whole selfie, mediapipe on the framing's crop."""
    if method == "modnet":
        return segmenter.portrait_alpha(rgb, face)[0]
    left, top, right, bottom = plan.source_region(rgb.shape[1], rgb.shape[0])
    matte = np.zeros(rgb.shape[:2], np.float32)
    matte[top:bottom, left:right] = segmenter.mediapipe_matte(rgb[top:bottom, left:right],
                                                              face.translated(-left, -top))
    return matte


def finished(segmenter, method: str, rgb, face, plan, backdrop):
    """The Finisher's matte stages: frame, refine the edge, keep the attached person, clean spill, composite."""
    framed = frame_subject(rgb, source_matte(segmenter, method, rgb, face, plan), plan)
    matte = keep_attached(refine_edges(framed.rgb, framed.matte, framed.inside), face_box_from_plan(plan))
    return composite(estimate_foreground(framed.rgb, matte), matte, backdrop), matte


def test_modnet_lets_less_of_a_busy_old_background_through_the_hair_than_mediapipe(models, portrait):
    # The person is put in front of clutter and of its colour complement: a perfect matte gives the same headshot
    # twice, so whatever differs in the band around the head came from the old background. The clutter replaces
    # the photo's own background wherever either method sees background (their minimum), so neither method's
    # edge is built into the input.
    analyzer, _ = models
    backdrop = render_background(Background(color="#1f4e79"), *SIZE)
    bleed = {"mediapipe": [], "modnet": []}
    for index, name in enumerate(HAIR_FACES):
        rgb = decode_image((FACES / name).read_bytes()).rgb
        face = prominent_faces(analyzer.detect(rgb))[0]
        plan = plan_framing(face, Framing(), SIZE)
        person = np.minimum(*(source_matte(portrait, m, rgb, face, plan) for m in ("modnet", "mediapipe")))
        first = busy_texture(*rgb.shape[:2], seed=index)
        olds = (first, 255 - first)
        inputs = [np.rint(person[..., None] * rgb + (1 - person[..., None]) * old).astype(np.uint8) for old in olds]
        framed_person = frame_subject(rgb, person, plan).matte
        radius = round(0.03 * SIZE[1])
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        inner = (framed_person >= 0.5).astype(np.uint8)
        band = (cv2.dilate(inner, kernel) > 0) & (cv2.erode(inner, kernel) == 0)
        band[int(face_box_from_plan(plan)[3]):] = False  # hair and head, not the shoulders
        framed_olds = [frame_subject(old, person, plan).rgb for old in olds]
        for method in bleed:
            (one, matte), (two, _) = (finished(portrait, method, image, face, plan, backdrop) for image in inputs)
            bleed[method].append(background_bleed(one, two, *framed_olds, band))
            certain = framed_person >= 0.95
            assert ((matte < 0.5) & certain).sum() < 0.01 * certain.sum(), f"{method} keeps all of {name}"
    assert all(after < before for before, after in zip(bleed["mediapipe"], bleed["modnet"], strict=True)), bleed
    assert np.mean(bleed["modnet"]) < 0.75 * np.mean(bleed["mediapipe"]), bleed


def test_modnet_is_trusted_only_where_it_keeps_the_person_mediapipe_is_sure_of(models, portrait):
    analyzer, _ = models
    rgb = decode_image((FACES / "alex_lacamoire" / "1.jpg").read_bytes()).rgb
    face = prominent_faces(analyzer.detect(rgb))[0]
    _, loss = portrait.portrait_alpha(rgb, face)
    assert loss < PORTRAIT_MAX_LOSS and portrait.portrait_matte(rgb, face) is not None, "his own photo: MODNet"
    # On clutter of a skin-like colour MODNet drops his shadowed cheek and the curls above it: mediapipe then.
    person = np.minimum(portrait.portrait_alpha(rgb, face)[0], portrait.mediapipe_matte(rgb, face))[..., None]
    busy = np.rint(person * rgb + (1 - person) * busy_texture(*rgb.shape[:2], seed=0)).astype(np.uint8)
    alpha, loss = portrait.portrait_alpha(busy, face)
    assert loss > PORTRAIT_MAX_LOSS
    assert portrait.portrait_matte(busy, face) is None
    assert np.array_equal(portrait.matte(busy, face), portrait.mediapipe_matte(busy, face))


def test_portrait_loss_is_the_share_of_the_certain_person_left_out():
    mask = np.zeros((200, 200), np.float32)
    mask[40:200, 40:160] = 0.9
    whole = (mask > 0).astype(np.float32)
    assert portrait_loss(whole, mask) == 0.0
    half = whole.copy()
    half[:, :100] = 0.0
    assert 0.45 < portrait_loss(half, mask) < 0.55
