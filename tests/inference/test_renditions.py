"""Renditions: a lossless PNG master and one clean sRGB JPEG per brand width."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms, ImageFilter

from inference.renditions import encode_master_png, make_renditions


def sample_frame() -> np.ndarray:
    ys, xs = np.mgrid[0:1280, 0:1024]
    return np.stack([xs % 256, ys % 256, (xs + ys) % 256], axis=-1).astype(np.uint8)


def test_master_png_is_lossless():
    frame = sample_frame()
    decoded = np.asarray(Image.open(io.BytesIO(encode_master_png(frame))).convert("RGB"))
    assert (decoded == frame).all()


def test_one_jpeg_per_output_width_keeping_the_aspect_without_exif():
    renditions = make_renditions(sample_frame(), (256, 1024, 512))
    assert [(r.width, r.height, r.format) for r in renditions] == [(1024, 1280, "JPEG"), (512, 640, "JPEG"),
                                                                   (256, 320, "JPEG")]
    for rendition in renditions:
        image = Image.open(io.BytesIO(rendition.data))
        assert image.format == "JPEG" and image.mode == "RGB"
        assert image.size == (rendition.width, rendition.height)
        assert "exif" not in image.info and len(image.getexif()) == 0
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        assert "sRGB" in profile.profile.profile_description, "tagged sRGB so every viewer shows the same colours"


def test_jpeg_quality_is_high_enough_to_look_like_the_master():
    frame = np.asarray(Image.fromarray(sample_frame()).filter(ImageFilter.GaussianBlur(3)))
    rendition = make_renditions(frame, (1024,))[0]
    decoded = np.asarray(Image.open(io.BytesIO(rendition.data)).convert("RGB")).astype(int)
    assert np.abs(decoded - frame).mean() < 2.0
