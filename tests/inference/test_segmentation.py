"""Person matte: edge refinement removes the halo the coarse 256 px model leaves on a new backdrop."""
from __future__ import annotations

import numpy as np
import pytest

from inference.background import composite, estimate_foreground, halo_score, render_background
from inference.brand import Background, Framing
from inference.face_detect import FaceAnalyzer, prominent_faces
from inference.framing import frame_subject, plan_framing
from inference.ingest import decode_image
from inference.segmentation import MATTE_ZERO, PersonSegmenter, keep_attached, refine_edges

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
    assert all(a < b for a, b in zip(after, before)), f"every face improves: {before} -> {after}"
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
