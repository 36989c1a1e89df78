"""Upscaling: the master is enlarged with back-projection, which beats plain bicubic on real faces, and the matte
stays exact where flat."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from inference.upscale import upscale

from .conftest import FACES

# Six dev photos of four people, each reduced 2x with area averaging and enlarged back.
SAMPLES = ("barack_obama/1.jpg", "angelina/2.jpg", "scarlett/5.jpg", "jennifer/3.jpg", "jack_dorsey/3.jpg",
           "katy_perry/4.jpg")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0 ** 2 / mse)


def load(name: str) -> np.ndarray:
    rgb = np.asarray(Image.open(FACES / name).convert("RGB"))
    height, width = rgb.shape[:2]
    return np.ascontiguousarray(rgb[: height - height % 2, : width - width % 2])


def test_upscale_beats_bicubic_on_downscaled_dev_faces():
    gains, sharpness = [], []
    for name in SAMPLES:
        original = load(name)
        height, width = original.shape[:2]
        small = cv2.resize(original, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        ours = upscale(small, (width, height)).rgb
        bicubic = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        gains.append(psnr(ours, original) - psnr(bicubic, original))
        grey = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # noqa: E731
        sharpness.append(cv2.Laplacian(grey(ours), cv2.CV_64F).var() / cv2.Laplacian(grey(bicubic), cv2.CV_64F).var())
    assert min(gains) > 0.0, f"every face is closer to the original than bicubic makes it (dB gains {gains})"
    assert np.mean(gains) > 0.2, f"a clear margin on average, not noise (dB gains {gains})"
    assert min(sharpness) > 1.2, "and visibly crisper (Laplacian variance over bicubic's)"


def test_upscale_gives_the_requested_size_and_keeps_the_matte_exact_where_flat():
    rgb = load("scarlett/5.jpg")[:200, :160]
    matte = np.zeros((200, 160), np.float32)
    matte[60:, 40:120] = 1.0
    matte[58:60, 40:120] = 0.5
    out = upscale(rgb, (400, 500), matte)
    assert out.rgb.shape == (500, 400, 3) and out.rgb.dtype == np.uint8
    assert out.matte.shape == (500, 400)
    assert (out.matte[:100] == 0.0).all(), "transparent stays exactly transparent (the backdrop stays exact)"
    assert (out.matte[200:, 120:280] == 1.0).all(), "opaque stays exactly opaque"
    assert out.params["method"] == "bicubic+ibp2-luma" and out.params["factor"] == pytest.approx(2.5)


def test_same_size_is_a_no_op_and_bad_input_is_refused():
    rgb = load("scarlett/5.jpg")[:50, :40]
    assert upscale(rgb, (40, 50)).rgb is rgb
    with pytest.raises(ValueError, match="uint8"):
        upscale(rgb.astype(np.float32), (80, 100))


def test_the_upscaled_matte_never_leaves_the_range_of_the_matte_around_it():
    # A soft-edged matte next to strong photo edges: guidance may move the edge, not invent alpha beyond it.
    rgb = load("scarlett/5.jpg")[:240, :200]
    matte = np.zeros((240, 200), np.float32)
    matte[80:, 50:150] = 1.0
    matte = cv2.GaussianBlur(matte, (0, 0), 2.0)
    matte[matte < 0.01] = 0.0
    out = upscale(rgb, (500, 600), matte).matte
    upper = cv2.resize(cv2.dilate(matte, np.ones((3, 3), np.uint8)), (500, 600), interpolation=cv2.INTER_LINEAR)
    lower = cv2.resize(cv2.erode(matte, np.ones((3, 3), np.uint8)), (500, 600), interpolation=cv2.INTER_LINEAR)
    assert (out <= upper + 1e-6).all() and (out >= lower - 1e-6).all()
    assert (out[upper == 0.0] == 0.0).all()
