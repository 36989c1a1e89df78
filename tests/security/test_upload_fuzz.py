"""Hostile uploads: the decoder survives a time-boxed fuzzing run and every hand-made attack file, in a child process
with a capped address space, with a clear rejection or a clean image for each case."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Time box: about 1,000 cases take ~20 s on one core; FUZZ_EXAMPLES raises it for a longer run by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
MEMORY_CAP_MB = 2000


@pytest.fixture(scope="module")
def fuzz_report() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "platform")])}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.security.fuzz_uploads", "--examples", str(EXAMPLES),
         "--memory-mb", str(MEMORY_CAP_MB)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert completed.stdout.strip(), completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"\nupload fuzzing: {report['cases']} cases, {len(report['crashes'])} crashes, seed {report['seed']}, "
          f"{report['seconds']} s, peak RSS {report['peak_rss_mb']} MB, outcomes {report['outcomes']}")
    return report


def test_no_fuzz_case_crashes_hangs_or_exhausts_memory(fuzz_report):
    assert fuzz_report["crashes"] == [], json.dumps(fuzz_report["crashes"], indent=1)
    assert fuzz_report["cases"] >= EXAMPLES
    assert fuzz_report["peak_rss_mb"] < MEMORY_CAP_MB


def test_fuzzing_reached_every_kind_of_outcome(fuzz_report):
    # A run that only ever saw "not an image" would prove nothing about the decoders behind the header check.
    outcomes = fuzz_report["outcomes"]
    assert outcomes.get("accepted", 0) > 0
    for reason in ("not_an_image", "too_many_pixels", "truncated_image", "corrupt_image"):
        assert outcomes.get(f"rejected:{reason}", 0) > 0, (reason, outcomes)


@pytest.mark.parametrize("name,expected", [
    ("png_bomb_header", "rejected:too_many_pixels"),
    ("png_bomb_wide", "rejected:too_many_pixels"),
    ("jpeg_bomb_sof", "rejected:too_many_pixels"),
    ("png_deflate_bomb", "rejected:too_many_pixels"),
    ("png_text_bomb", "rejected:not_an_image"),
    ("polyglot_html_jpeg", "rejected:not_an_image"),
    ("svg_script", "rejected:not_an_image"),
    ("heic_bad_ftyp", "rejected:not_an_image"),
    ("webp_riff_size_lie", "rejected:not_an_image"),
    ("empty", "rejected:empty_file"),
    ("jpeg_cmyk", "accepted"),
    ("png_16bit_grey", "accepted"),
    ("png_palette_transparent", "accepted"),
    ("jpeg_huge_exif", "accepted"),
    ("jpeg_many_segments", "accepted"),
    ("heic", "accepted"),
    ("webp_lossless_alpha", "accepted"),
])
def test_each_hand_made_file_gets_its_outcome(name, expected):
    from tests.security.fuzz_uploads import check, corpus

    assert check(corpus()[name]) == expected
