"""Attire colour: clothing moves toward the brand colour with its shading kept; skin and hair are left alone."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.attire import MAX_CHROMA_SHIFT, AttireInput, recolor_attire
from inference.brand import Attire, Framing
from inference.face_detect import FaceAnalyzer, prominent_faces
from inference.face_mesh import FACE_OVAL, FaceMesher
from inference.framing import frame_subject, plan_framing
from inference.ingest import decode_image
from inference.segmentation import PersonSegmenter

from .conftest import FACES

NAVY = "#1f3a5f"


@pytest.fixture(scope="module")
def framed_people():
    """Framed photo, matte and mesh of a suit with a white shirt, and of long hair over a dark top."""
    analyzer, segmenter, mesher = FaceAnalyzer(), PersonSegmenter(), FaceMesher()
    people = {}
    for name in ("barack_obama/1.jpg", "jennifer/1.jpg"):
        rgb = decode_image((FACES / name).read_bytes()).rgb
        face = prominent_faces(analyzer.detect(rgb))[0]
        plan = plan_framing(face, Framing(), (819, 1024))
        left, top, right, bottom = plan.source_region(rgb.shape[1], rgb.shape[0])
        matte = np.zeros(rgb.shape[:2], np.float32)
        matte[top:bottom, left:right] = segmenter.matte(rgb[top:bottom, left:right], face.translated(-left, -top))
        framed = frame_subject(rgb, matte, plan)
        people[name] = (framed.rgb, framed.matte, mesher.detect(framed.rgb))
    yield people
    segmenter.close()
    mesher.close()


def lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32)


def target_ab(color: str) -> np.ndarray:
    from inference.brand import hex_to_rgb

    return lab(np.array([[hex_to_rgb(color)]], np.uint8))[0, 0, 1:]


def face_mask(rgb: np.ndarray, mesh) -> np.ndarray:
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(mesh.xy(FACE_OVAL)).astype(np.int32)], 1)
    return mask.astype(bool)


def test_clothing_moves_toward_the_brand_colour_and_keeps_its_shading(framed_people):
    rgb, matte, mesh = framed_people["barack_obama/1.jpg"]
    assert mesh is not None
    out = recolor_attire(AttireInput(rgb, matte, mesh, None, Attire(color=NAVY, strength=0.7)))
    region = out.weight > 0.9
    assert region.mean() > 0.05, "the suit is found"
    before, after = lab(rgb)[region], lab(out.rgb)[region]
    target = target_ab(NAVY)
    distance_before = np.linalg.norm(before[:, 1:] - target, axis=1).mean()
    distance_after = np.linalg.norm(after[:, 1:] - target, axis=1).mean()
    assert distance_after < 0.6 * distance_before, "clearly closer to the brand colour"
    assert np.abs(after[:, 1:] - before[:, 1:]).max() <= MAX_CHROMA_SHIFT + 2, "bounded"
    assert np.abs(after[:, 0] - before[:, 0]).mean() < 2.0, "lightness (fabric shading and folds) kept"
    assert out.params["applied"] and out.params["color"] == NAVY


def test_skin_and_the_face_are_left_exactly_as_they_were(framed_people):
    rgb, matte, mesh = framed_people["barack_obama/1.jpg"]
    out = recolor_attire(AttireInput(rgb, matte, mesh, None, Attire(color=NAVY, strength=1.0)))
    face = face_mask(rgb, mesh)
    assert (out.rgb[face] == rgb[face]).all(), "not one face pixel changes"
    assert (out.rgb[matte == 0] == rgb[matte == 0]).all(), "nor anything outside the person"
    # Below the chin, whatever has the face's own skin colour (the neck between the collars) stays as it was.
    skin_ab = lab(rgb)[face][:, 1:]
    mean, spread = skin_ab.mean(axis=0), skin_ab.std(axis=0)
    below = np.zeros_like(face)
    below[int(mesh.points[152, 1]):] = True
    skin_like = below & (matte > 0.9) & (np.abs(lab(rgb)[..., 1:] - mean) < spread).all(axis=2)
    assert skin_like.sum() > 200, "the set-up: some neck skin is visible"
    assert np.abs(out.rgb[skin_like].astype(int) - rgb[skin_like]).mean() < 1.0


def test_long_hair_over_the_shoulders_is_not_dyed(framed_people):
    rgb, matte, mesh = framed_people["jennifer/1.jpg"]
    out = recolor_attire(AttireInput(rgb, matte, mesh, None, Attire(color="#8b1e3f", strength=1.0)))
    # Blonde hair falls beside the face, below the chin: sample it beside the jaw.
    chin_y = int(mesh.points[152, 1])
    oval = mesh.xy(FACE_OVAL)
    x = int(oval[:, 0].min()) - 25
    hair = (slice(chin_y + 20, chin_y + 60), slice(x - 10, x + 10))
    assert matte[hair].mean() > 0.9, "the set-up: that is the person (her hair)"
    assert np.abs(lab(out.rgb)[hair][..., 1:] - lab(rgb)[hair][..., 1:]).mean() < 3.0


def test_no_colour_or_zero_strength_changes_nothing(framed_people):
    rgb, matte, mesh = framed_people["barack_obama/1.jpg"]
    assert recolor_attire(AttireInput(rgb, matte, mesh, None, Attire())).rgb is rgb
    assert recolor_attire(AttireInput(rgb, matte, mesh, None, Attire(color=NAVY, strength=0.0))).rgb is rgb


def test_without_a_mesh_the_face_box_finds_the_chin_and_without_either_it_is_refused(framed_people):
    rgb, matte, mesh = framed_people["barack_obama/1.jpg"]
    oval = mesh.xy(FACE_OVAL)
    box = (float(oval[:, 0].min()), float(oval[:, 1].min()), float(oval[:, 0].max()), float(oval[:, 1].max()))
    out = recolor_attire(AttireInput(rgb, matte, None, box, Attire(color=NAVY, strength=0.7)))
    assert (out.weight > 0.9).mean() > 0.05
    assert (out.weight[: int(box[3])] == 0).all(), "nothing above the chin"
    with pytest.raises(ValueError, match="mesh or a face box"):
        recolor_attire(AttireInput(rgb, matte, None, None, Attire(color=NAVY, strength=0.7)))
