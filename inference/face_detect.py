"""Face analysis with dlib's shipped models: HOG detection, 5-point landmarks and the 128-d identity embedding."""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

Point = tuple[float, float]

# Detection runs on a copy this size: HOG cost grows with pixels, and a selfie's face is large.
DETECT_LONG_SIDE = 640
# dlib's HOG window is 80 px; one 2x upsample pass finds faces down to ~40 px of the detection copy.
MAX_UPSAMPLE = 1
# A detection counts as a second person when it is at least this fraction of the main face's width;
# smaller faces are strangers far behind the employee, which a selfie taken in an office often has.
SECOND_FACE_MIN_RELATIVE_WIDTH = 0.5
# dlib's documented decision threshold: same person when the Euclidean embedding distance is below it.
SAME_PERSON_DISTANCE = 0.6


def model_path(file_name: str) -> Path:
    """Path of a weight file inside face-recognition-models, found without importing the package.

    Importing it runs `from pkg_resources import ...`, and setuptools >= 81 no longer ships pkg_resources.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed; it ships the dlib weights the pipeline needs")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / file_name
    if not path.is_file():
        raise RuntimeError(f"dlib weight file missing: {path}")
    return path


@dataclass(frozen=True)
class Face:
    # left, top, right, bottom in pixels of the image given to detect().
    box: tuple[float, float, float, float]
    # HOG detection score (higher = more face-like; dlib keeps >= 0).
    score: float
    # dlib 5-point order: two corners of the eye on the image's right, two of the other eye, then the nose base.
    landmarks: tuple[Point, Point, Point, Point, Point]

    @property
    def left_eye(self) -> Point:
        """Centre of the eye on the image's left side (the subject's right eye)."""
        (ax, ay), (bx, by) = self.landmarks[2], self.landmarks[3]
        return ((ax + bx) / 2.0, (ay + by) / 2.0)

    @property
    def right_eye(self) -> Point:
        (ax, ay), (bx, by) = self.landmarks[0], self.landmarks[1]
        return ((ax + bx) / 2.0, (ay + by) / 2.0)

    @property
    def eye_midpoint(self) -> Point:
        (lx, ly), (rx, ry) = self.left_eye, self.right_eye
        return ((lx + rx) / 2.0, (ly + ry) / 2.0)

    @property
    def eye_distance(self) -> float:
        (lx, ly), (rx, ry) = self.left_eye, self.right_eye
        return math.hypot(rx - lx, ry - ly)

    @property
    def nose(self) -> Point:
        return self.landmarks[4]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def centre(self) -> Point:
        return ((self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0)

    def translated(self, dx: float, dy: float) -> Face:
        """The same face in the coordinates of a crop whose origin is at (-dx, -dy)."""
        left, top, right, bottom = self.box
        return Face(
            box=(left + dx, top + dy, right + dx, bottom + dy),
            score=self.score,
            landmarks=tuple((x + dx, y + dy) for x, y in self.landmarks),  # type: ignore[arg-type]
        )


class FaceAnalyzer:
    """Loads the dlib models once; detect() finds faces with landmarks, embed() gives the identity vector."""

    def __init__(self, *, detect_long_side: int = DETECT_LONG_SIDE) -> None:
        self.detect_long_side = detect_long_side
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat")))
        self._encoder = dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Every face with score >= 0, largest first, in full-image coordinates."""
        image = _as_rgb_uint8(rgb)
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_long_side / max(height, width))
        small = image
        if scale < 1.0:
            small = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        rects, scores = [], []
        # Upsampling costs ~4x; only pay it when the plain pass finds nothing (a small or distant face).
        for upsample in range(MAX_UPSAMPLE + 1):
            found, found_scores, _ = self._detector.run(small, upsample, 0.0)
            rects, scores = list(found), list(found_scores)
            if rects:
                break
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            full = dlib.rectangle(
                round(rect.left() / scale), round(rect.top() / scale),
                round(rect.right() / scale), round(rect.bottom() / scale),
            )
            shape = self._landmarks(image, full)
            points = tuple((float(shape.part(i).x), float(shape.part(i).y)) for i in range(5))
            box = (float(full.left()), float(full.top()), float(full.right()), float(full.bottom()))
            faces.append(Face(box=box, score=float(score), landmarks=points))  # type: ignore[arg-type]
        faces.sort(key=lambda face: face.width, reverse=True)
        return faces

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """128-d float64 identity embedding of `face` (dlib ResNet, aligned by the 5 landmarks)."""
        left, top, right, bottom = (round(v) for v in face.box)
        shape = dlib.full_object_detection(
            dlib.rectangle(left, top, right, bottom), [dlib.point(round(x), round(y)) for x, y in face.landmarks]
        )
        descriptor = self._encoder.compute_face_descriptor(_as_rgb_uint8(rgb), shape)
        return np.asarray(descriptor, dtype=np.float64)


def prominent_faces(faces: list[Face]) -> list[Face]:
    """The faces that belong to someone in the photo, not to a tiny stranger far behind (see the constant)."""
    if not faces:
        return []
    main = max(face.width for face in faces)
    return [face for face in faces if face.width >= SECOND_FACE_MIN_RELATIVE_WIDTH * main]


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def _as_rgb_uint8(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an H x W x 3 uint8 RGB array")
    return rgb if rgb.flags["C_CONTIGUOUS"] else np.ascontiguousarray(rgb)

