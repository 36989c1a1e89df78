"""Ingest: what the decoder accepts, how it normalises photos, and how precisely it rejects bad uploads."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from inference.errors import IngestError
from inference.ingest import IngestLimits, decode_image

from .conftest import FACES, REPO, encode

PORTRAIT = FACES / "barack_obama" / "1.jpg"  # 820 x 1024


def reason_of(data: bytes, limits: IngestLimits | None = None) -> str:
    with pytest.raises(IngestError) as caught:
        decode_image(data, limits)
    assert caught.value.message.endswith("."), "messages are sentences shown to the employee"
    return caught.value.reason


def bilevel_png(width: int, height: int) -> bytes:
    """A genuine, fully valid 1-bit PNG of any size, built in a few MB of memory (zeros compress ~1000:1)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    rows_per_block = max(1, 2_000_000 // len(row))
    parts, done = [], 0
    while done < height:
        count = min(rows_per_block, height - done)
        parts.append(compressor.compress(row * count))
        done += count
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def test_jpeg_selfie_decodes_to_rgb_uint8_array():
    decoded = decode_image(PORTRAIT.read_bytes())
    assert decoded.rgb.dtype == np.uint8
    assert decoded.rgb.shape == (1024, 820, 3)
    assert (decoded.original_width, decoded.original_height) == (820, 1024)
    assert decoded.format == "JPEG"


def test_empty_file_is_rejected_with_reason():
    assert reason_of(b"") == "empty_file"


@pytest.mark.parametrize(
    "data",
    [b"hello, this is a text file\n" * 20, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(500), bytes(range(256)) * 8],
    ids=["text", "pdf", "noise"],
)
def test_non_image_is_rejected_with_reason(data):
    assert reason_of(data) == "not_an_image"


@pytest.mark.parametrize("fraction", [0.3, 0.7, 0.995])
def test_truncated_jpeg_is_rejected_with_reason(fraction):
    data = PORTRAIT.read_bytes()
    assert reason_of(data[: int(len(data) * fraction)]) == "truncated_image"


def test_jpeg_missing_only_its_end_marker_is_still_rejected_as_truncated():
    data = PORTRAIT.read_bytes()
    assert data.endswith(b"\xff\xd9")
    assert reason_of(data[:-2]) == "truncated_image"


def test_truncated_png_is_rejected_with_reason():
    png = encode(Image.open(PORTRAIT), "PNG")
    assert reason_of(png[: len(png) // 2]) == "truncated_image"


def test_file_over_the_byte_limit_is_rejected_before_decoding():
    data = PORTRAIT.read_bytes()
    assert reason_of(data, IngestLimits(max_bytes=len(data) - 1)) == "too_large"


def test_photo_smaller_than_min_side_is_rejected():
    small = encode(Image.open(PORTRAIT).resize((200, 250)), "JPEG")
    assert reason_of(small) == "too_small"


def test_photo_over_the_pixel_limit_is_rejected_before_its_pixels_are_decoded():
    # 8000 x 6000 = 48 MP: above our 40 MP limit but below Pillow's own bomb limit, so only our check stops it.
    data = bilevel_png(8000, 6000)
    started = time.perf_counter()
    assert reason_of(data) == "too_many_pixels"
    assert time.perf_counter() - started < 1.0


def test_decompression_bomb_is_rejected_fast_without_allocating_its_pixels(tmp_path):
    bomb = bilevel_png(20_000, 20_000)  # 400 MP; Pillow would need 400 MB for it in mode "1"
    assert len(bomb) < 1_000_000
    with pytest.raises(Image.DecompressionBombError):  # it really is a bomb by Pillow's own standard
        Image.open(io.BytesIO(bomb))
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    # A fresh process, so its peak memory says what decoding the bomb cost. VmHWM, not ru_maxrss: Linux carries
    # ru_maxrss over fork and exec, so under a large pytest it would start at the parent's peak and hide any growth.
    script = textwrap.dedent(
        """
        import json, sys, time
        from inference.errors import IngestError
        from inference.ingest import decode_image
        def peak_kb():
            return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        data = open(sys.argv[1], "rb").read()
        before = peak_kb()
        started = time.perf_counter()
        try:
            decode_image(data)
            reason = None
        except IngestError as exc:
            reason = exc.reason
        print(json.dumps({"reason": reason, "seconds": time.perf_counter() - started,
                          "peak_growth_kb": peak_kb() - before}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=REPO, timeout=60, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["reason"] == "too_many_pixels"
    assert report["seconds"] < 0.5
    assert report["peak_growth_kb"] < 50_000, "rejecting the bomb must not allocate its pixels"


def test_heic_photo_decodes():
    original = Image.open(PORTRAIT)
    heic = encode(original, "HEIF", quality=90)
    decoded = decode_image(heic)
    assert decoded.format == "HEIF"
    assert decoded.rgb.shape == (1024, 820, 3)
    difference = np.abs(decoded.rgb.astype(int) - np.asarray(original.convert("RGB"), dtype=int)).mean()
    assert difference < 6


@pytest.mark.parametrize("orientation, stored_rotation",
                         [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
                          (3, Image.Transpose.ROTATE_180)])
def test_exif_orientation_is_applied(orientation, stored_rotation):
    upright = Image.open(PORTRAIT).convert("RGB")
    # What a phone writes: the sensor's pixels as they were, plus a tag saying how to turn them for display.
    stored = upright.transpose(stored_rotation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = decode_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert decoded.rgb.shape == (1024, 820, 3)
    assert np.abs(decoded.rgb.astype(int) - np.asarray(upright, dtype=int)).mean() < 4


def test_cmyk_jpeg_is_converted_to_rgb():
    original = Image.open(PORTRAIT).convert("RGB")
    decoded = decode_image(encode(original.convert("CMYK"), "JPEG", quality=95))
    assert decoded.rgb.shape == (1024, 820, 3)
    assert np.abs(decoded.rgb.astype(int) - np.asarray(original, dtype=int)).mean() < 6


def test_palette_png_with_transparency_is_flattened_onto_white():
    image = Image.new("P", (300, 300), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    image.paste(1, (0, 0, 150, 300))  # left half opaque red, right half index 0 = transparent
    decoded = decode_image(encode(image, "PNG", transparency=0))
    assert tuple(decoded.rgb[150, 50]) == (200, 30, 30)
    assert tuple(decoded.rgb[150, 250]) == (255, 255, 255)


def test_rgba_png_alpha_is_flattened_onto_white():
    image = Image.new("RGBA", (300, 300), (10, 120, 10, 0))
    image.paste((10, 120, 10, 255), (0, 0, 300, 150))
    decoded = decode_image(encode(image, "PNG"))
    assert tuple(decoded.rgb[50, 50]) == (10, 120, 10)
    assert tuple(decoded.rgb[250, 50]) == (255, 255, 255)


def test_16_bit_greyscale_png_keeps_its_tones_instead_of_clipping():
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (300, 1))
    decoded = decode_image(encode(Image.fromarray(ramp), "PNG"))
    row = decoded.rgb[150, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert abs(row[256] - 128) <= 2, "mid-grey must stay mid-grey, not clip to white"
    assert (decoded.rgb[..., 0] == decoded.rgb[..., 2]).all()


def test_large_photo_is_downscaled_to_the_working_size():
    big = Image.open(PORTRAIT).resize((3280, 4096))
    decoded = decode_image(encode(big, "JPEG", quality=90))
    assert max(decoded.rgb.shape[:2]) == 1600
    assert (decoded.original_width, decoded.original_height) == (3280, 4096)
    assert decoded.rgb.shape == (1600, 1281, 3)
