"""Fuzzing of upload decoding: hypothesis mutates real photos of every accepted format, and hand-made hostile files
(bombs, polyglots, huge EXIF, odd colour modes) are added to the corpus; every case must end in a decoded upright
RGB image or a precise IngestError — never another exception, a hang, or runaway memory.

Run as a child process (`python -m tests.security.fuzz_uploads --examples N`) so a memory cap (RLIMIT_AS) and a
wall-clock limit apply to the decoder alone; it prints one JSON line with the counts and any crash.
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import random
import resource
import struct
import sys
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from inference.errors import IngestError
from inference.ingest import decode_image

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "selfies"
# One case may take this long at most (a 1600 px working copy of a large photo takes well under a second).
CASE_SECONDS = 10.0


def _photo() -> Image.Image:
    source = sorted(SAMPLE.glob("*/*.jpg"))[0]
    image = Image.open(source).convert("RGB")
    image.thumbnail((360, 480))
    return image


def _save(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header promising width x height pixels, with a few bytes of compressed data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
            + _png_chunk(b"IEND", b""))


def _jpeg_with_sof(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the first SOF segment's dimensions (a classic way to lie about size)."""
    out = bytearray(data)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = out.find(marker)
        if at > 0:
            out[at + 5:at + 9] = struct.pack(">HH", height, width)
            break
    return bytes(out)


def _zip_bytes() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "x" * 1000)
    return buffer.getvalue()


@functools.cache
def corpus() -> dict[str, bytes]:
    """Seeds: valid photos in every format and mode people upload, plus hand-made hostile files."""
    photo = _photo()
    exif = photo.getexif()
    exif[0x0112] = 6  # rotated, as phones store portraits
    jpeg = _save(photo, "JPEG", quality=85)
    seeds = {
        "jpeg": jpeg,
        "jpeg_progressive_exif_rotated": _save(photo, "JPEG", quality=80, progressive=True, exif=exif.tobytes()),
        "jpeg_cmyk": _save(photo.convert("CMYK"), "JPEG", quality=85),
        "png_rgba": _save(photo.convert("RGBA"), "PNG"),
        "png_16bit_grey": _save(Image.fromarray(np.asarray(photo.convert("L"), dtype=np.uint16) * 257), "PNG"),
        "png_palette_transparent": _save(photo.convert("P", palette=Image.Palette.ADAPTIVE), "PNG", transparency=0),
        "webp_lossy": _save(photo, "WEBP", quality=70),
        "webp_lossless_alpha": _save(photo.convert("RGBA"), "WEBP", lossless=True),
        "heic": _save(photo, "HEIF", quality=60),
        "gif": _save(photo.convert("P"), "GIF"),
    }
    # Huge EXIF: a maker note of almost 64 KB (the APP1 maximum).
    big = photo.getexif()
    big[0x927C] = b"\x00" * 65000
    seeds["jpeg_huge_exif"] = _save(photo, "JPEG", exif=big.tobytes())
    # Many application segments before the image data.
    seeds["jpeg_many_segments"] = jpeg[:2] + (b"\xff\xe5\x00\x10" + b"A" * 14) * 5000 + jpeg[2:]
    seeds["png_bomb_header"] = _png_claiming(60000, 60000)
    seeds["png_bomb_wide"] = _png_claiming(2**31 - 1, 1)
    seeds["png_zero_size"] = _png_claiming(0, 0)
    seeds["jpeg_bomb_sof"] = _jpeg_with_sof(jpeg, 65000, 65000)
    # A real deflate bomb: 20000 x 20000 grey pixels, all zero, compress to a few KB.
    seeds["png_deflate_bomb"] = _save(Image.new("L", (20000, 20000)), "PNG")
    text_bomb = _png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"A" * 50_000_000))  # 50 MB of text, inflated
    seeds["png_text_bomb"] = (seeds["png_rgba"][:33] + text_bomb
                              + seeds["png_rgba"][33:])
    # Polyglots: a JPEG with a ZIP behind it, a script before it, a GIF header on JPEG bytes.
    seeds["polyglot_jpeg_zip"] = jpeg + _zip_bytes()
    seeds["polyglot_html_jpeg"] = b"<html><script>alert(1)</script></html>" + jpeg
    seeds["polyglot_gif_header_jpeg"] = b"GIF89a" + jpeg[6:]
    seeds["webp_riff_size_lie"] = seeds["webp_lossy"][:4] + struct.pack("<I", 0xFFFFFFF0) + seeds["webp_lossy"][8:]
    seeds["heic_bad_ftyp"] = seeds["heic"][:8] + b"zzzz" + seeds["heic"][12:]
    seeds["svg_script"] = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    seeds["empty"] = b""
    return seeds


def check(data: bytes) -> str:
    """The property: a decoded upright RGB working copy, or a precise rejection. Returns the outcome's name."""
    started = time.monotonic()
    try:
        decoded = decode_image(data)
    except IngestError as exc:
        outcome = f"rejected:{exc.reason}"
        assert exc.reason and exc.message, "a rejection needs a reason and a message"
    else:
        rgb = decoded.rgb
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, rgb.shape
        assert max(rgb.shape[:2]) <= 1600 and min(rgb.shape[:2]) >= 1
        outcome = "accepted"
    elapsed = time.monotonic() - started
    assert elapsed < CASE_SECONDS, f"decoding took {elapsed:.1f} s"
    return outcome


def mutate(data: bytes, ops: list[tuple[int, int, int, bytes]]) -> bytes:
    """Apply (kind, position, length, bytes) edits: truncate, overwrite, insert, delete, duplicate."""
    out = bytearray(data)
    for kind, position, length, blob in ops:
        if not out:
            out = bytearray(blob)
            continue
        at = position % len(out)
        if kind == 0:
            del out[at:]
        elif kind == 1:
            out[at:at + len(blob)] = blob
        elif kind == 2:
            out[at:at] = blob
        elif kind == 3:
            del out[at:at + length]
        else:
            out[at:at] = out[at:at + length]
    return bytes(out)


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux keeps that across fork and exec, so a child started by a
    pytest that had grown to 2 GB reported the parent's peak, not its own (VmHWM belongs to the new address space)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(examples: int, seed: int) -> dict:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    seeds = corpus()
    outcomes: Counter[str] = Counter()
    crashes: list[dict] = []

    for name, data in seeds.items():
        try:
            outcomes[check(data)] += 1
        except Exception as exc:  # the property failed on a hand-made case
            crashes.append({"case": name, "error": repr(exc), "trace": traceback.format_exc(limit=4)})

    mutable = {k: v for k, v in seeds.items() if len(v) < 2_000_000}
    edit = st.tuples(st.integers(0, 4), st.integers(0, 2**31), st.integers(1, 4096), st.binary(min_size=1, max_size=64))

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(mutable)), ops=st.lists(edit, min_size=1, max_size=6))
    def property_holds(name: str, ops):
        outcomes[check(mutate(mutable[name], ops))] += 1

    try:
        property_holds()
    except Exception as exc:  # hypothesis re-raises the shrunk failing example
        crashes.append({"case": "hypothesis", "error": repr(exc), "trace": traceback.format_exc(limit=6)})
    peak_mb = peak_rss_mb()
    return {"cases": sum(outcomes.values()), "hand_made": len(seeds), "crashes": crashes,
            "outcomes": dict(sorted(outcomes.items())), "peak_rss_mb": round(peak_mb, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(2**32))
    parser.add_argument("--memory-mb", type=int, default=0, help="cap the address space (RLIMIT_AS) first")
    args = parser.parse_args(argv)
    if args.memory_mb:
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.monotonic()
    report = run(args.examples, args.seed)
    report.update(seed=args.seed, seconds=round(time.monotonic() - started, 1))
    print(json.dumps(report))
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
