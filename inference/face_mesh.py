"""Dense face landmarks (mediapipe's shipped 478-point face mesh with irises), and what later stages derive from them.

One model, used by selfie QC (head pose, open eyes) and by finishing (face normals for lighting, iris
positions for catchlights, skin/eye/mouth regions for retouching).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mediapipe as mp
import numpy as np

from . import segmentation as _segmentation  # noqa: F401  (sets mediapipe's logging before importing it)

# Landmark indices in mediapipe's canonical face mesh (with refine_landmarks=True the irises are 468..477).
LEFT_IRIS = (468, 469, 470, 471, 472)    # the subject's right eye as seen in the image's left half
RIGHT_IRIS = (473, 474, 475, 476, 477)
# Eye-lid points for the eye aspect ratio: (outer corner, inner corner, upper lid, lower lid) per eye.
EYE_A = (33, 133, 159, 145)
EYE_B = (362, 263, 386, 374)
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10
LEFT_CHEEK = 234
RIGHT_CHEEK = 454
# Outer face oval, in order, for a face-region polygon.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
EYE_A_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_B_CONTOUR = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
BROW_A = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
BROW_B = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
# The mesh's surface as mediapipe draws it: (a, b) landmark index pairs, the edges of its triangles.
TESSELATION_EDGES: frozenset[tuple[int, int]] = frozenset(mp.solutions.face_mesh_connections.FACEMESH_TESSELATION)


@dataclass(frozen=True)
class FaceMesh:
    # (478, 3) float32: x, y in pixels of the image given to FaceMesher.detect(); z in the same pixel scale,
    # negative towards the camera (mediapipe's convention).
    points: np.ndarray

    def xy(self, indices) -> np.ndarray:
        return self.points[list(indices), :2]

    def iris_centres(self) -> tuple[tuple[float, float], tuple[float, float]]:
        a = self.points[list(LEFT_IRIS), :2].mean(axis=0)
        b = self.points[list(RIGHT_IRIS), :2].mean(axis=0)
        return (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))

    def eye_openness(self) -> tuple[float, float]:
        """Lid gap / eye width per eye: about 0.25-0.35 open, under ~0.12 closed."""
        out = []
        for outer, inner, upper, lower in (EYE_A, EYE_B):
            width = np.linalg.norm(self.points[outer, :2] - self.points[inner, :2])
            gap = np.linalg.norm(self.points[upper, :2] - self.points[lower, :2])
            out.append(float(gap / width) if width > 0 else 0.0)
        return out[0], out[1]

    def head_pose(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees from the mesh's 3-D points; 0, 0, 0 faces the camera squarely."""
        p = self.points.astype(np.float64)
        across = p[RIGHT_CHEEK] - p[LEFT_CHEEK]           # image-left cheek to image-right cheek
        down = p[CHIN] - p[FOREHEAD]
        across /= np.linalg.norm(across) or 1.0
        down -= across * np.dot(down, across)
        down /= np.linalg.norm(down) or 1.0
        forward = np.cross(across, down)                  # points away from the camera for a frontal face
        yaw = math.degrees(math.atan2(forward[0], forward[2]))
        pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
        roll = math.degrees(math.atan2(across[1], across[0]))
        return yaw, pitch, roll


class FaceMesher:
    """Loads mediapipe's face mesh once; detect() returns the mesh of the most prominent face, or None."""

    def __init__(self, *, max_faces: int = 1) -> None:
        self._model = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True, min_detection_confidence=0.5)

    def close(self) -> None:
        self._model.close()

    def detect(self, rgb: np.ndarray) -> FaceMesh | None:
        height, width = rgb.shape[:2]
        result = self._model.process(np.ascontiguousarray(rgb))
        if not result.multi_face_landmarks:
            return None
        landmarks = result.multi_face_landmarks[0].landmark
        # mediapipe normalizes x by width, y by height and z roughly by width.
        points = np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in landmarks], dtype=np.float32)
        return FaceMesh(points=points)
