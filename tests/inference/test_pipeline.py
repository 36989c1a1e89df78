"""HeadshotPipeline end to end on real photos: brand background, eye line, identity, and bad input handled per photo."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inference.background import render_background
from inference.brand import BrandSpec, Framing
from inference.errors import InputError
from inference.face_detect import SAME_PERSON_DISTANCE, identity_distance
from inference.framing import estimate_head_height
from inference.output_qc import assess_headshot
from inference.pipeline import REASON_MESSAGES, check_inputs
from inference.request import GenerationInput, SelfieInput

from .conftest import FACES, NEGATIVES, PEOPLE, SAMPLES, decode_png, encode, gradient_brand, selfie, solid_brand

pytestmark = pytest.mark.slow

TOP_BAND = 0.08  # the top 8% of a headshot is above every head at the default framing
SIDE_BAND = 0.08  # so are the outer 8% columns above the eye line


def all_headshots(solid_runs):
    return [(person, h) for person, run in solid_runs.items() for h in run.headshots]


def measured_face(pipeline, rgb):
    faces = pipeline.faces.detect(rgb)
    assert len(faces) == 1, "a headshot shows exactly one face"
    return faces[0]


def test_every_selfie_of_the_people_under_test_is_accepted(solid_runs):
    for person, run in solid_runs.items():
        assert [v.accepted for v in run.selfies] == [True] * len(PEOPLE[person])
        assert len(run.headshots) == len(PEOPLE[person])
        assert all(v.embedding is not None and len(v.embedding) == 128 for v in run.selfies)


def test_every_headshot_shows_the_brand_colour_behind_the_person(solid_runs):
    brand_colour = np.array([0x1F, 0x4E, 0x79])
    for person, headshot in all_headshots(solid_runs):
        rgb = decode_png(headshot.image).astype(int)
        height, width = rgb.shape[:2]
        top = rgb[: int(TOP_BAND * height)]
        eye_row = int(0.42 * height)
        sides = np.concatenate([rgb[:eye_row, : int(SIDE_BAND * width)], rgb[:eye_row, -int(SIDE_BAND * width):]], axis=1)
        for region, name in ((top, "top band"), (sides, "sides above the eyes")):
            off = np.abs(region - brand_colour).max(axis=-1) > 2
            assert off.mean() < 0.002, f"{person} {headshot.source}: {name} is not the brand colour"
        # ... and the person is really there: the centre of the face is not background.
        assert np.abs(rgb[eye_row, width // 2] - brand_colour).max() > 10


def test_gradient_brand_background_is_behind_the_person(pipeline):
    brand = gradient_brand()
    run = pipeline.run(GenerationInput(selfies=(selfie(FACES / "angelina" / "1.jpg"),), brand=brand))
    headshot = run.headshots[0]
    rgb = decode_png(headshot.image).astype(int)
    height, width = rgb.shape[:2]
    assert (width, height) == (800, 800)
    expected = render_background(brand.background, width, height).astype(int)
    band = slice(0, int(TOP_BAND * height))
    off = np.abs(rgb[band] - expected[band]).max(axis=-1) > 2
    assert off.mean() < 0.002
    # Down the sides, above the eyes, each row shows its own gradient colour (not one flat colour).
    eye_row = int(brand.framing.eye_line * height)
    side = slice(0, int(SIDE_BAND * width))
    off = np.abs(rgb[:eye_row, side] - expected[:eye_row, side]).max(axis=-1) > 2
    assert off.mean() < 0.002
    assert expected[eye_row, 0].sum() < expected[0, 0].sum() - 30, "the test needs a visible gradient"


def test_eye_line_is_the_same_for_every_person_and_matches_the_brand(pipeline, solid_runs):
    spec_line = solid_brand().framing.eye_line
    lines = {}
    for person, headshot in all_headshots(solid_runs):
        rgb = decode_png(headshot.image)
        face = measured_face(pipeline, rgb)
        lines[(person, headshot.source)] = face.eye_midpoint[1] / rgb.shape[0]
        # Levelled: the eyes are on one horizontal line.
        (lx, ly), (rx, ry) = face.left_eye, face.right_eye
        assert abs(np.degrees(np.arctan2(ry - ly, rx - lx))) < 2.0
    assert len({person for person, _ in lines}) >= 3
    values = np.array(list(lines.values()))
    assert np.abs(values - spec_line).max() <= 0.02, lines
    assert values.max() - values.min() <= 0.02, lines


def test_head_size_is_the_same_for_every_person(pipeline, solid_runs):
    spec = solid_brand().framing.head_height
    for person, headshot in all_headshots(solid_runs):
        rgb = decode_png(headshot.image)
        measured = estimate_head_height(measured_face(pipeline, rgb)) / rgb.shape[0]
        assert measured == pytest.approx(spec, rel=0.06), f"{person} {headshot.source}"


def test_headshot_keeps_its_persons_identity_and_not_anyone_elses(pipeline, solid_runs):
    profiles = {
        person: np.mean([v.embedding for v in run.selfies], axis=0) for person, run in solid_runs.items()
    }
    to_others = []
    for person, headshot in all_headshots(solid_runs):
        assert headshot.qc["identity_distance"] < SAME_PERSON_DISTANCE
        assert headshot.passed
        # Measured here, independently of the pipeline's own QC numbers.
        embedding = pipeline.faces.embed(decode_png(headshot.image), measured_face(pipeline, decode_png(headshot.image)))
        assert identity_distance(embedding, profiles[person]) < SAME_PERSON_DISTANCE
        to_others += [identity_distance(embedding, profiles[other]) for other in profiles if other != person]
    assert np.mean(to_others) > SAME_PERSON_DISTANCE, "the identity check must be able to fail"


def test_output_qc_fails_a_headshot_compared_with_someone_else(pipeline, solid_runs):
    obama = solid_runs["barack_obama"].headshots[0]
    scarlett_profile = np.mean([v.embedding for v in solid_runs["scarlett"].selfies], axis=0)
    qc, _ = assess_headshot(pipeline.faces, decode_png(obama.image), profile_embedding=scarlett_profile)
    assert not qc.passed and "identity" in qc.failures


def test_qc_reports_the_measurements_of_each_headshot(solid_runs):
    for _, headshot in all_headshots(solid_runs):
        qc = headshot.qc
        assert qc["face_count"] == 1
        assert 0 <= qc["identity_distance_to_source"] < SAME_PERSON_DISTANCE
        assert qc["sharpness"] > 0
        assert abs(qc["eye_line"] - qc["eye_line_target"]) <= 0.02


def test_params_record_what_is_needed_to_make_the_headshot_again(pipeline):
    brand = gradient_brand()
    run = pipeline.run(GenerationInput(selfies=(selfie(FACES / "scarlett" / "1.jpg"),), brand=brand, seed=41))
    assert [h.variant for h in run.headshots] == ["standard", "warm"]
    seeds = [h.params["seed"] for h in run.headshots]
    assert seeds == [41, 42]
    params = run.headshots[0].params
    assert params["brand"] == {"name": "Gradient Co", "version": 1}
    assert params["framing"]["eye_line"] == 0.40 and params["framing"]["head_height"] == 0.40
    assert params["framing"]["frame_width"] == 800 and params["framing"]["frame_height"] == 800
    assert params["lighting"] == "studio" and params["backend"] == "studio"
    assert [(r.width, r.height) for r in run.headshots[0].renditions] == [(800, 800), (400, 400)]


def test_one_bad_photo_does_not_stop_the_others(pipeline):
    good = FACES / "barack_obama" / "1.jpg"
    selfies = (
        selfie(good, "good.jpg"),
        selfie(NEGATIVES / "no_face_landscape.jpg", "landscape.jpg"),
        selfie(NEGATIVES / "two_faces_white_house.jpg", "two.jpg"),
        SelfieInput("cut.jpg", good.read_bytes()[:20_000]),
        SelfieInput("notes.txt", b"not a photo at all"),
        SelfieInput("empty.jpg", b""),
    )
    run = pipeline.run(GenerationInput(selfies=selfies, brand=solid_brand()))
    verdicts = {v.name: v for v in run.selfies}
    assert [v.name for v in run.selfies] == [s.name for s in selfies], "verdicts come back in input order"
    assert verdicts["good.jpg"].accepted
    assert verdicts["landscape.jpg"].reasons == ("no_face",)
    assert verdicts["two.jpg"].reasons == ("multiple_faces",)
    assert verdicts["cut.jpg"].reasons == ("truncated_image",)
    assert verdicts["notes.txt"].reasons == ("not_an_image",)
    assert verdicts["empty.jpg"].reasons == ("empty_file",)
    assert [h.source for h in run.headshots] == ["good.jpg"]


def test_a_crash_on_one_photo_rejects_only_that_photo(pipeline, monkeypatch):
    real_matte = pipeline.segmenter.matte
    obama_1 = FACES / "barack_obama" / "1.jpg"
    poisoned = pipeline.inspect(selfie(obama_1)).face

    def matte_that_breaks_on_one_photo(rgb, face=None):
        if face is not None and abs(face.width - poisoned.width) < 1:
            raise RuntimeError("simulated model failure")
        return real_matte(rgb, face)

    monkeypatch.setattr(pipeline.segmenter, "matte", matte_that_breaks_on_one_photo)
    run = pipeline.run(GenerationInput(selfies=(selfie(obama_1, "a.jpg"), selfie(FACES / "barack_obama" / "2.jpg", "b.jpg"))))
    assert [(v.name, v.accepted, v.reasons) for v in run.selfies] == [
        ("a.jpg", False, ("processing_failed",)), ("b.jpg", True, ()),
    ]
    assert [h.source for h in run.headshots] == ["b.jpg"]


def test_rejections_come_with_a_human_sentence_and_a_tip(pipeline):
    verdict = pipeline.inspect_selfie(selfie(NEGATIVES / "no_face_landscape.jpg"))
    assert verdict.messages == ("We couldn't find a face. Take the photo facing the camera in good light.",)
    for reason, message in REASON_MESSAGES.items():
        assert message[0].isupper() and message.endswith(".") and len(message.split(". ")) >= 2, reason


def test_no_face_photo_is_rejected(pipeline):
    verdict = pipeline.inspect_selfie(selfie(NEGATIVES / "no_face_landscape.jpg"))
    assert not verdict.accepted and verdict.reasons == ("no_face",) and verdict.embedding is None


def test_two_faces_photo_is_rejected(pipeline):
    verdict = pipeline.inspect_selfie(selfie(NEGATIVES / "two_faces_white_house.jpg"))
    assert not verdict.accepted and verdict.reasons == ("multiple_faces",)


def test_face_too_small_is_rejected(pipeline):
    photo = Image.open(FACES / "barack_obama" / "1.jpg")
    tiny = photo.resize((photo.width // 5, photo.height // 5), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (900, 1000), (120, 120, 120))
    canvas.paste(tiny, (350, 300))
    verdict = pipeline.inspect_selfie(SelfieInput("far.jpg", encode(canvas, "JPEG", quality=95)))
    assert verdict.reasons == ("face_too_small",)


def test_blurry_dark_selfie_is_rejected(pipeline):
    verdict = pipeline.inspect_selfie(selfie(NEGATIVES / "blurry_dark_face.jpg"))
    assert not verdict.accepted
    assert "too_blurry" in verdict.reasons and "too_dark" in verdict.reasons


def test_face_cut_off_by_the_photo_edge_is_rejected(pipeline):
    verdict = pipeline.inspect_selfie(selfie(NEGATIVES / "partial_face_obama.jpg"))
    assert verdict.reasons == ("face_cut_off",)


def test_heic_selfie_is_accepted(pipeline):
    heic = encode(Image.open(FACES / "scarlett" / "1.jpg"), "HEIF", quality=90)
    verdict = pipeline.inspect_selfie(SelfieInput("IMG_0001.HEIC", heic))
    assert verdict.accepted, verdict.reasons


def test_sideways_stored_selfie_is_accepted_thanks_to_its_exif_orientation(pipeline):
    upright = Image.open(FACES / "angelina" / "1.jpg").convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor recorded
    exif = Image.Exif()
    exif[0x0112] = 6
    with_tag = pipeline.inspect_selfie(SelfieInput("phone.jpg", encode(stored, "JPEG", quality=92, exif=exif.tobytes())))
    assert with_tag.accepted and (with_tag.width, with_tag.height) == upright.size
    # Without the tag the same pixels are a sideways face that the frontal detector does not find.
    without_tag = pipeline.inspect_selfie(SelfieInput("raw.jpg", encode(stored, "JPEG", quality=92)))
    assert not without_tag.accepted


def test_no_usable_selfie_gives_verdicts_and_no_headshots(pipeline):
    run = pipeline.run(GenerationInput(selfies=(selfie(NEGATIVES / "no_face_dogs.jpg"),), brand=solid_brand()))
    assert run.headshots == ()
    assert run.selfies[0].reasons == ("no_face",)


def test_every_sample_selfie_is_accepted(pipeline):
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file())
    assert {p.parent.name for p in files} == {"barack_obama", "grace_hopper", "eileen_collins"}
    for path in files:
        verdict = pipeline.inspect_selfie(SelfieInput(path.name, path.read_bytes()))
        assert verdict.accepted, f"{path}: {verdict.reasons}"


@pytest.mark.parametrize(
    "request_, message",
    [
        (GenerationInput(selfies=()), "non-empty"),
        (GenerationInput(selfies=(SelfieInput("a", b"x"), SelfieInput("a", b"y"))), "used twice"),
        (GenerationInput(selfies=(SelfieInput("", b"x"),)), r"selfies\[0\]\.name"),
        (GenerationInput(selfies=(SelfieInput("a", "text"),)), r"selfies\[0\]\.data"),
        (GenerationInput(selfies=(SelfieInput("a", b"x"),), seed=-1), "seed"),
        (GenerationInput(selfies=(SelfieInput("a", b"x"),), brand={"name": "x"}), "BrandSpec"),
        (GenerationInput(selfies=(SelfieInput("a", b"x"),), brand=BrandSpec(framing=Framing(eye_line=0.9))), "eye_line"),
        (GenerationInput(selfies=tuple(SelfieInput(str(i), b"x") for i in range(31))), "at most 30"),
    ],
)
def test_check_inputs_names_the_bad_field(request_, message):
    with pytest.raises(InputError, match=message):
        check_inputs(request_)
