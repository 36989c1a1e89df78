"""Face analysis: dlib HOG detection, 5-point landmarks in full-image coordinates, and identity embeddings."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from inference.face_detect import SAME_PERSON_DISTANCE, Face, identity_distance, prominent_faces
from inference.ingest import decode_image

from .conftest import FACES, NEGATIVES

pytestmark = pytest.mark.slow


def load(path) -> np.ndarray:
    return decode_image(path.read_bytes()).rgb


@pytest.mark.parametrize("person", ["barack_obama", "angelina", "katy_perry"])
def test_one_face_is_found_with_its_landmarks_inside_the_box(pipeline, person):
    rgb = load(FACES / person / "1.jpg")
    faces = pipeline.faces.detect(rgb)
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    width = right - left
    for x, y in face.landmarks:
        assert left - 0.1 * width <= x <= right + 0.1 * width
        assert top - 0.1 * width <= y <= bottom + 0.1 * width
    assert face.left_eye[0] < face.nose[0] < face.right_eye[0]
    assert face.eye_midpoint[1] < face.nose[1], "eyes sit above the nose in an upright photo"
    assert 0.25 * width < face.eye_distance < 0.6 * width


def test_small_face_is_found_by_the_upsampling_pass(pipeline):
    rgb = load(FACES / "barack_obama" / "1.jpg")
    # Shrink so the face is ~60 px wide in a 1280 px photo: under HOG's 80 px window at the detection size.
    small = cv2.resize(rgb, (rgb.shape[1] // 4, rgb.shape[0] // 4), interpolation=cv2.INTER_AREA)
    canvas = np.full((1280, 1024, 3), 128, dtype=np.uint8)
    canvas[400:400 + small.shape[0], 300:300 + small.shape[1]] = small
    faces = pipeline.faces.detect(canvas)
    assert len(faces) == 1
    assert 300 < faces[0].eye_midpoint[0] < 300 + small.shape[1]


def test_landmarks_are_in_full_image_coordinates_not_detection_copy_coordinates(pipeline):
    rgb = load(FACES / "angelina" / "1.jpg")  # 758 x 1024: detection runs on a 640 px copy
    face = pipeline.faces.detect(rgb)[0]
    big = cv2.resize(rgb, (rgb.shape[1] * 2, rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    big_face = pipeline.faces.detect(big)[0]
    assert big_face.eye_distance == pytest.approx(2 * face.eye_distance, rel=0.05)
    assert big_face.eye_midpoint[0] == pytest.approx(2 * face.eye_midpoint[0], rel=0.03)


def test_two_people_are_two_prominent_faces(pipeline):
    faces = pipeline.faces.detect(load(NEGATIVES / "two_faces_white_house.jpg"))
    assert len(prominent_faces(faces)) == 2


def test_a_small_face_far_behind_is_not_a_second_person():
    main = Face(box=(100, 100, 300, 300), score=2.0,
                landmarks=((250, 180), (220, 180), (150, 180), (180, 180), (200, 240)))
    stranger = Face(box=(600, 50, 660, 110), score=1.0,
                    landmarks=((650, 70), (640, 70), (615, 70), (625, 70), (632, 90)))
    assert prominent_faces([main, stranger]) == [main]


def test_embeddings_separate_people(pipeline):
    # dlib's aligned 150 px chips: three photos each of two different men named John.
    people = {name: [load_chip(pipeline, FACES / name / f"{i}.jpg") for i in (1, 2, 3)]
              for name in ("john_savage", "john_schneider")}
    same = [identity_distance(a, b) for embs in people.values() for a, b in itertools.combinations(embs, 2)]
    different = [identity_distance(a, b) for a in people["john_savage"] for b in people["john_schneider"]]
    assert max(same) < SAME_PERSON_DISTANCE
    assert min(different) > SAME_PERSON_DISTANCE


def load_chip(pipeline, path) -> np.ndarray:
    import PIL.Image

    rgb = np.asarray(PIL.Image.open(path).convert("RGB"))  # 150 px chips are below the selfie minimum on purpose
    faces = pipeline.faces.detect(rgb)
    assert faces, f"no face in {path}"
    embedding = pipeline.faces.embed(rgb, faces[0])
    assert embedding.shape == (128,)
    return embedding
