"""Looks: a headshot keeps the selfie's face lightness and contrast, a person's top 8 are distinct, and no image is
delivered twice."""
from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter

import numpy as np
import pytest

from inference.brand import BrandSpec
from inference.finishing import Finisher
from inference.near_duplicate import image_print, same_image
from inference.output_qc import OutputQCInput, assess_output, face_tone
from inference.presets import preset_brand_dict
from inference.ranking import DISTINCT_TOP, rank_entries
from inference.request import GenerationInput
from inference.variants import SourceSelfie, adjust_variant, make_variant, plan_variants

from .conftest import FACES, decode_png, selfie, solid_brand


def washed_out(rgb: np.ndarray, lift: float = 0.35) -> np.ndarray:
    """What the issue saw: the face paler and flatter, every level pulled toward a light grey."""
    return np.clip(rgb.astype(np.float32) * (1.0 - lift) + 225.0 * lift, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def angelina_headshot(pipeline):
    one = selfie(FACES / "angelina" / "1.jpg")
    brand = solid_brand(output_sizes=(512,), variants_per_person=1, variant_framings=("head_and_shoulders",),
                        variant_lightings=("natural",), regeneration_tries=0)
    run = pipeline.run(GenerationInput(selfies=(one,), brand=brand))
    return pipeline.inspect(one), run.headshots[0]


def _qc(pipeline, inspection, rgb):
    return assess_output(pipeline.faces, OutputQCInput(
        rgb=rgb, profile_embedding=inspection.embedding, source_tone=face_tone(inspection.image.rgb, inspection.face)))


def test_a_natural_headshot_keeps_the_selfies_face_lightness_and_contrast(pipeline, angelina_headshot):
    inspection, headshot = angelina_headshot
    qc = headshot.qc
    assert abs(qc["face_l_change"]) < 5.0 and 0.85 < qc["face_contrast_ratio"] < 1.3, qc
    assert not {"face_lightness", "face_contrast"} & set(qc["failures"])
    # The numbers are the selfie's and the headshot's own, measured again here.
    source = face_tone(inspection.image.rgb, inspection.face)
    assert qc["face_l_mean_source"] == pytest.approx(source.l_mean, abs=0.01)


def test_a_washed_out_render_fails_lightness_and_contrast(pipeline, angelina_headshot):
    inspection, headshot = angelina_headshot
    rgb = decode_png(headshot.image)
    qc = _qc(pipeline, inspection, washed_out(rgb))
    assert {"face_lightness", "face_contrast"} <= set(qc.failures), qc.scores
    assert qc.scores["face_l_change"] > 8.0 and qc.scores["face_contrast_ratio"] < 0.8
    fine = _qc(pipeline, inspection, rgb)
    assert not {"face_lightness", "face_contrast"} & set(fine.failures)


def test_a_pale_or_flat_face_is_regenerated_with_plainer_light_or_another_selfie():
    brand = BrandSpec()
    sources = [SourceSelfie("a", 0), SourceSelfie("b", 1)]
    studio = make_variant(sources[0], brand, framing_style="head_and_shoulders", lighting="studio",
                          background_index=0, retouch_strength=brand.retouch.strength, base_seed=0)
    pale, change = adjust_variant(studio, ["face_lightness"], brand, sources, tried={studio.name})
    assert change == "plainer_lighting" and pale.lighting == "natural"
    flat, change = adjust_variant(studio, ["face_contrast"], brand, sources, tried={studio.name})
    assert change == "another_source" and flat.source == "b"
    harsh, change = adjust_variant(studio, ["face_harsh"], brand, sources, tried={studio.name})
    assert change == "plainer_lighting" and harsh.lighting == "natural"


def realistic_entries() -> list[dict]:
    """The corporate kit's grid for one person (3 selfies x 3 framings x 4 lightings x 3 backdrops), scored so that
    the score order alone would fill the top with one photo on three backdrops."""
    brand = BrandSpec.from_dict(preset_brand_dict("corporate_finance"))
    sources = [SourceSelfie(f"p/{i}.jpg", i) for i in range(3)]
    specs = plan_variants(brand, sources, base_seed=0, count=108)
    entries = []
    for spec in specs:
        # The best selfie in head-and-shoulders studio light scores highest on every backdrop.
        distance = 0.30 + 0.05 * spec.source_index + 0.02 * ("head_and_shoulders", "close_up", "square_avatar").index(
            spec.framing_style) + 0.01 * ("studio", "soft", "natural", "dramatic").index(spec.lighting)
        entries.append({"variant": spec.name, "params": {"variant_spec": spec.as_params()},
                        "qc": {"identity_distance": distance, "identity_threshold": 0.6}, "passed": True})
    return entries


def _key(entry):
    spec = entry["params"]["variant_spec"]
    return spec["source"], spec["framing_style"], spec["lighting"]


def test_the_top_8_never_holds_one_photo_on_two_backdrops():
    entries = realistic_entries()
    by_score = [entries[r.index] for r in rank_entries(entries, distinct_top=0)][:DISTINCT_TOP]
    assert max(Counter(map(_key, by_score)).values()) == 3, "score order alone shows one photo on three backdrops"
    ranked = rank_entries(entries)
    top = [entries[r.index] for r in ranked][:DISTINCT_TOP]
    assert len(set(map(_key, top))) == DISTINCT_TOP
    # Still the best first, and every entry still ranked once.
    assert top[0] is by_score[0]
    assert sorted(r.index for r in ranked) == list(range(len(entries)))
    assert [r.rank for r in ranked] == list(range(1, len(entries) + 1))


def test_backdrop_copies_fill_the_top_only_when_fewer_distinct_ones_exist_and_failed_ones_stay_last():
    entries = [e for e in realistic_entries() if _key(e)[1:] == ("head_and_shoulders", "studio")]
    assert len(entries) == 9  # 3 selfies x 3 backdrops
    entries[0] = {**entries[0], "passed": False}
    top = [entries[r.index] for r in rank_entries(entries)][:DISTINCT_TOP]
    assert len(set(map(_key, top[:3]))) == 3, "each selfie once before any repeats"
    assert all(e["passed"] for e in top)


def test_the_plan_shows_every_selfie_in_every_framing_before_repeating_a_photo_on_another_backdrop():
    brand = BrandSpec.from_dict(preset_brand_dict("corporate_finance"))
    specs = plan_variants(brand, [SourceSelfie(f"s{i}", i) for i in range(3)], base_seed=0)
    assert len(specs) == brand.variants_per_person == 24
    assert len({(s.source, s.framing_style, s.lighting) for s in specs}) == 24
    assert len({(s.source, s.framing_style) for s in specs}) == 9
    assert len({s.background_index for s in specs}) == len(brand.backgrounds)
    assert {s.look for s in specs} >= {"Head and shoulders, studio light", "Close-up, natural light"}


class _NoMesh:
    """A face the mesh model misses on the framed subject: retouch has nothing to work on."""

    def detect(self, rgb):
        return None


@pytest.fixture
def meshless(pipeline):
    real = pipeline.finisher
    pipeline.finisher = Finisher(segmenter=pipeline.segmenter, mesher=_NoMesh())
    yield pipeline
    pipeline.finisher = real


def _copy_brand(tries: int) -> BrandSpec:
    # One selfie, framing, lighting and backdrop: the second variant is the lighter retouch level ("-r25"), which
    # without a face mesh renders pixel for pixel like the first (the hs-natural-bg0-s2-r25).
    return solid_brand(output_sizes=(384,), variants_per_person=2, variant_framings=("head_and_shoulders",),
                       variant_lightings=("natural",), regeneration_tries=tries)


def _digests(run):
    return [hashlib.sha256(decode_png(h.image).tobytes()).hexdigest() for h in run.headshots]


def test_a_regenerated_copy_of_a_delivered_headshot_is_made_differently(meshless):
    run = meshless.run(GenerationInput(selfies=(selfie(FACES / "barack_obama" / "1.jpg"),), brand=_copy_brand(2)))
    assert len(run.headshots) == 2 and not run.dropped
    assert len(set(_digests(run))) == 2
    remade = next(h for h in run.headshots if h.qc["requested_variant"].endswith("-r25"))
    copy = remade.qc["attempts"][0]
    assert copy["failures"] == ["duplicate"] and copy["variant"] == "hs-natural-bg0-s0-r25"
    assert copy["duplicate_of"] == "hs-natural-bg0-s0" and copy["change"] == "looser_framing"
    assert remade.variant == "lo-natural-bg0-s0-r25" and remade.params["look"] == "Wide, natural light"


def test_a_copy_with_no_try_left_is_dropped_with_its_reason(meshless):
    run = meshless.run(GenerationInput(selfies=(selfie(FACES / "barack_obama" / "1.jpg"),), brand=_copy_brand(0)))
    assert [h.variant for h in run.headshots] == ["hs-natural-bg0-s0"]
    assert [(d["variant"], d["reason"], d["duplicate_of"]) for d in run.dropped] == [
        ("hs-natural-bg0-s0-r25", "duplicate", "hs-natural-bg0-s0")]


def test_same_image_tells_a_retouch_step_from_a_copy(angelina_headshot):
    _, headshot = angelina_headshot
    rgb = decode_png(headshot.image)
    assert same_image(image_print(rgb), image_print(rgb.copy()))
    noisy = np.clip(rgb.astype(np.int16) + np.random.default_rng(0).integers(-1, 2, rgb.shape), 0, 255).astype(np.uint8)
    assert same_image(image_print(rgb), image_print(noisy)), "one level of noise is the same picture"
    changed = rgb.copy()
    changed[100:140, 100:140] = np.clip(changed[100:140, 100:140].astype(np.int16) + 12, 0, 255)
    assert not same_image(image_print(rgb), image_print(changed))


@pytest.fixture
def strict_contrast(pipeline):
    """Output QC that allows a fifth more contrast than the selfie's: angelina/1 in dramatic light has a third more."""
    real = pipeline.qc_limits
    pipeline.qc_limits = dataclasses.replace(real, max_face_contrast_ratio=1.2)
    yield pipeline
    pipeline.qc_limits = real


def test_a_harsh_face_is_regenerated_in_plainer_light_and_then_passes(strict_contrast):
    brand = solid_brand(output_sizes=(384,), variants_per_person=1, variant_framings=("close_up",),
                        variant_lightings=("dramatic",), regeneration_tries=3)
    run = strict_contrast.run(GenerationInput(selfies=(selfie(FACES / "angelina" / "1.jpg"),), brand=brand))
    headshot, = run.headshots
    attempts = headshot.qc["attempts"]
    assert attempts[0]["variant"] == "cu-dramatic-bg0-s0" and "face_harsh" in attempts[0]["failures"]
    assert attempts[0]["scores"]["face_contrast_ratio"] > 1.2
    assert [a["change"] for a in attempts] == ["plainer_lighting"]
    assert headshot.passed and headshot.params["lighting"] == "natural", headshot.qc["failures"]
    assert headshot.qc["face_contrast_ratio"] <= 1.2
