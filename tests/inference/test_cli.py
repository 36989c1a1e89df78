"""`python -m inference run`: files and manifest.json on success, one clear line and exit 2 when it cannot work."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inference.cli import main

from .conftest import FACES, NEGATIVES, REPO

pytestmark = pytest.mark.slow


def folder_with(tmp_path, *photos):
    folder = tmp_path / "selfies"
    folder.mkdir()
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    return folder


def test_cli_writes_headshots_and_the_manifest_in_its_exact_shape(pipeline, tmp_path, capsys):
    selfies = folder_with(tmp_path, FACES / "barack_obama" / "1.jpg", NEGATIVES / "no_face_landscape.jpg")
    out = tmp_path / "out"
    # Spec change (variants): a person gets several ranked variants; --variants keeps this run small.
    assert main(["run", "--selfies", str(selfies), "--out", str(out), "--variants", "2"], pipeline=pipeline) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"selfies", "headshots"} <= set(manifest)
    assert [s["file"] for s in manifest["selfies"]] == ["1.jpg", "no_face_landscape.jpg"]
    for entry in manifest["selfies"]:
        assert {"file", "accepted", "reasons"} <= set(entry)
    assert manifest["selfies"][0]["accepted"] is True and manifest["selfies"][0]["reasons"] == []
    assert manifest["selfies"][1]["accepted"] is False and manifest["selfies"][1]["reasons"] == ["no_face"]
    assert len(manifest["headshots"]) == 2
    for position, headshot in enumerate(manifest["headshots"], start=1):
        assert {"file", "source", "variant", "qc", "passed"} <= set(headshot)
        assert headshot["source"] == "1.jpg" and headshot["variant"].endswith("-s0")
        assert isinstance(headshot["qc"]["identity_distance"], float) and headshot["passed"] is True
        # New keys: rank, ranking score, the regeneration record and every QC score.
        assert headshot["rank"] == position and isinstance(headshot["ranking_score"], float)
        assert headshot["qc"]["attempts"] == [] or all(a["failures"] for a in headshot["qc"]["attempts"])
        assert isinstance(headshot["qc"]["skin_delta_e"], float) and "age_drift" in headshot["qc"]
        with Image.open(out / headshot["file"]) as master:
            assert master.format == "PNG" and master.width == 1024
        for rendition in headshot["renditions"]:
            with Image.open(out / rendition["file"]) as image:
                assert image.format == "JPEG" and image.width == rendition["width"]
    assert manifest["brand"]["variants_per_person"] == 2
    assert "wrote 2 headshot(s)" in capsys.readouterr().out


def test_cli_applies_the_brand_kit(pipeline, tmp_path):
    kit = tmp_path / "kit.json"
    kit.write_text(json.dumps({"name": "Acme", "background": {"kind": "solid", "color": "#aa2233"},
                               "output_sizes": [600, 300], "variants_per_person": 1,
                               "variant_framings": ["head_and_shoulders"], "variant_lightings": ["natural"]}))
    selfies = folder_with(tmp_path, FACES / "scarlett" / "1.jpg")
    out = tmp_path / "out"
    assert main(["run", "--brand-kit", str(kit), "--selfies", str(selfies), "--out", str(out)], pipeline=pipeline) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    master = np.asarray(Image.open(out / manifest["headshots"][0]["file"]).convert("RGB"))
    assert master.shape == (750, 600, 3)
    # The brand colour in the corner, times the lighting's background falloff (one gain on all three channels).
    corner = master[5, 5].astype(float)
    gain = corner @ np.array([0xAA, 0x22, 0x33]) / float(np.array([0xAA, 0x22, 0x33]) @ np.array([0xAA, 0x22, 0x33]))
    assert np.abs(corner - gain * np.array([0xAA, 0x22, 0x33])).max() <= 3 and 0.5 <= gain <= 1.25


def test_cli_starts_from_an_industry_preset_and_applies_a_ranking_state(pipeline, tmp_path):
    ranking = tmp_path / "ranking.json"
    ranking.write_text(json.dumps({"version": 1, "weights": {"framing:square_avatar": 5.0}}))
    selfies = folder_with(tmp_path, FACES / "scarlett" / "1.jpg")
    out = tmp_path / "out"
    args = ["run", "--preset", "tech", "--variants", "3", "--ranking", str(ranking), "--selfies", str(selfies),
            "--out", str(out)]
    assert main(args, pipeline=pipeline) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["brand"]["preset"] == "tech" and len(manifest["headshots"]) == 3
    best = manifest["headshots"][0]
    assert best["rank"] == 1 and best["params"]["framing_style"] == "square_avatar"


def test_cli_lists_the_presets(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7 and lines[0].startswith("corporate_finance: ")


def test_cli_refuses_an_unknown_preset_in_one_line(tmp_path, capsys):
    selfies = folder_with(tmp_path, FACES / "scarlett" / "1.jpg")
    assert main(["run", "--preset", "fintech", "--selfies", str(selfies), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown preset 'fintech'" in err[0]


def test_cli_exits_2_with_one_clear_line_when_no_selfie_is_usable(tmp_path):
    selfies = folder_with(tmp_path, NEGATIVES / "no_face_landscape.jpg", NEGATIVES / "two_faces_white_house.jpg")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "inference", "run", "--selfies", str(selfies), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: none of the 2 photo(s)")
    assert "no_face" in lines[0] and "multiple_faces" in lines[0]
    assert "Traceback" not in done.stderr
    # The manifest still says why each photo was refused.
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["headshots"] == [] and [s["accepted"] for s in manifest["selfies"]] == [False, False]


@pytest.mark.parametrize("setup, expected", [
    ("missing", "does not exist"),
    ("empty", "holds no photos"),
])
def test_cli_exits_2_when_the_selfie_folder_is_missing_or_empty(tmp_path, capsys, setup, expected):
    folder = tmp_path / "selfies"
    if setup == "empty":
        folder.mkdir()
    assert main(["run", "--selfies", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0]


@pytest.mark.parametrize("content, expected", [
    ('{"background": {"kind": "plaid"}}', "background.kind must be one of"),
    ('{"framing": {"eye_line": 0.95}}', "framing.eye_line"),
    ('{"colour": "#fff"}', "unknown brand spec field(s): colour"),
    ('{"background": ', "not valid JSON"),
])
def test_cli_exits_2_with_the_brand_spec_message_on_an_invalid_kit(tmp_path, capsys, content, expected):
    kit = tmp_path / "kit.json"
    kit.write_text(content)
    selfies = folder_with(tmp_path, FACES / "scarlett" / "1.jpg")
    assert main(["run", "--brand-kit", str(kit), "--selfies", str(selfies), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
