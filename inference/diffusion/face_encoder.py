"""Face encoders behind one interface: insightface ArcFace (ONNX from the model store) when present, else dlib's."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..face_detect import SAME_PERSON_DISTANCE, Face, FaceAnalyzer
from .model_store import ModelStore, ModelStoreError

# ArcFace's 112 x 112 alignment template (insightface face_align.arcface_dst): eye centres and nose tip. dlib's
# fifth point is the nose BASE, about 0.1 of the face height below the tip, so the template point moves down with it.
ARCFACE_SIZE = 112
ARCFACE_EYES = ((38.2946, 51.6963), (73.5318, 51.5014))
ARCFACE_NOSE_BASE = (56.0252, 77.0)
# Same person when the cosine similarity of two ArcFace (antelopev2 / buffalo_l) embeddings is above ~0.35-0.4
# (insightface's verification operating points); stated as a cosine DISTANCE bound so smaller is more alike.
ARCFACE_SAME_PERSON_COSINE_DISTANCE = 0.62
FACE_RECOGNITION_KIND = "face_recognition"


class FaceEncoder(Protocol):
    """What generation conditioning and output QC need from a face recognition model."""

    name: str
    dim: int
    same_person_distance: float

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray: ...

    def distance(self, a: np.ndarray, b: np.ndarray) -> float: ...


class DlibFaceEncoder:
    """The shipped dlib ResNet (128-d, Euclidean; free for any use)."""

    name = "dlib-resnet-v1"
    dim = 128
    same_person_distance = SAME_PERSON_DISTANCE

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        return self.analyzer.embed(rgb, face)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


class ArcFaceEncoder:
    """An insightface recognition model (ArcFace ONNX) loaded through insightface.model_zoo from a local file.

    Faces are found and landmarked by dlib (the pipeline's detector) and aligned to ArcFace's template from the eye
    centres and the nose, so only the recognition network comes from the insightface pack.
    """

    same_person_distance = ARCFACE_SAME_PERSON_COSINE_DISTANCE

    def __init__(self, onnx_path: Path, *, name: str = "arcface") -> None:
        from insightface.model_zoo import get_model  # lazy: onnxruntime behind it; installed apart (Makefile)

        model = get_model(str(onnx_path), providers=["CPUExecutionProvider"])
        if model is None or getattr(model, "taskname", None) != "recognition":
            raise ValueError(f"{onnx_path} is not a face recognition model (insightface routed it to {model!r})")
        self.model = model
        self.name = name
        self.dim = int(model.output_shape[-1])
        self.size = int(model.input_size[0])

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """The face warped onto ArcFace's template, as the BGR uint8 crop insightface's get_feat() expects."""
        scale = self.size / ARCFACE_SIZE
        source = np.array([face.left_eye, face.right_eye, face.nose], dtype=np.float32)
        target = np.array([*ARCFACE_EYES, ARCFACE_NOSE_BASE], dtype=np.float32) * scale
        matrix, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.LMEDS)
        if matrix is None:
            raise ValueError("the face's landmarks are degenerate; it cannot be aligned")
        crop = cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (self.size, self.size), borderValue=0.0)
        return np.ascontiguousarray(crop[..., ::-1])

    def embed(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        vector = np.asarray(self.model.get_feat(self.align(rgb, face)), dtype=np.float64).ravel()
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 and math.isfinite(norm) else vector

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(1.0 - a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder that conditions generation and the DIFFERENT one output QC judges identity with (None: none)."""

    conditioning: FaceEncoder
    judge: FaceEncoder | None
    reason: str


def arcface_from_store(store: ModelStore, name: str) -> ArcFaceEncoder:
    model = store.get(name)
    onnx_files = sorted(f for f in model.files if f.endswith(".onnx"))
    if not onnx_files:
        raise ModelStoreError(name, "holds no .onnx recognition model", store.root)
    return ArcFaceEncoder(model.path / onnx_files[0], name=f"arcface:{name}")


def choose_encoders(store: ModelStore, analyzer: FaceAnalyzer, *, preference: str = "auto",
                    arcface_model: str = "insightface-antelopev2") -> EncoderChoice:
    """ArcFace conditions when its pack is in the store ("auto"/"arcface"), dlib otherwise; QC gets the other one."""
    if preference not in ("auto", "arcface", "dlib"):
        raise ValueError("face encoder preference must be 'auto', 'arcface' or 'dlib'")
    dlib_encoder = DlibFaceEncoder(analyzer)
    arcface = None
    if preference == "arcface" or (preference == "auto" and store.has(arcface_model)):
        arcface = arcface_from_store(store, arcface_model)  # raises ModelStoreError naming it when "arcface"
    if arcface is not None:
        return EncoderChoice(arcface, dlib_encoder, "ArcFace conditions generation; dlib judges identity")
    if store.has(arcface_model):
        return EncoderChoice(dlib_encoder, arcface_from_store(store, arcface_model),
                             "dlib conditions generation; ArcFace judges identity")
    return EncoderChoice(dlib_encoder, None, f"dlib conditions generation and no second encoder is in the store "
                                             f"({arcface_model} absent): identity cannot be judged independently")
