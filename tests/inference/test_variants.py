"""Variant planning: dozens of named, seeded variants per person spread over every axis, cheap to render, and
adjusted sensibly when one fails QC."""
from __future__ import annotations

import re

import pytest

from inference.brand import Background, BrandSpec, Framing, Retouch
from inference.variants import (
    PLAINNESS,
    SourceSelfie,
    VariantSpec,
    adjust_variant,
    framing_for,
    make_variant,
    plan_variants,
)

SOURCES = (SourceSelfie("best.jpg", 2), SourceSelfie("second.jpg", 0), SourceSelfie("third.jpg", 1))
NAME = re.compile(r"^(hs|cu|sq|lo)-(soft|studio|dramatic|natural)-bg\d+-s\d+(-r\d+)?$")


def two_background_brand(**overrides) -> BrandSpec:
    return BrandSpec(extra_backgrounds=(Background(kind="solid", color="#203040"),), **overrides)


def test_the_default_kit_gives_at_least_24_distinct_named_variants_per_person():
    specs = plan_variants(BrandSpec(), SOURCES, base_seed=0)
    assert len(specs) >= 24
    names = [spec.name for spec in specs]
    assert len(set(names)) == len(names)
    assert all(NAME.match(name) for name in names), names


def test_the_first_variants_already_show_every_framing_lighting_background_and_selfie():
    brand = two_background_brand()
    specs = plan_variants(brand, SOURCES, base_seed=0, count=12)
    assert {s.framing_style for s in specs} == set(brand.variant_framings)
    assert {s.lighting for s in specs} == set(brand.lightings)
    assert {s.background_index for s in specs} == {0, 1}
    assert {s.source for s in specs} == {s.name for s in SOURCES}


def test_only_the_best_selfies_are_used_and_the_best_one_most():
    brand = BrandSpec(variant_sources=2)
    specs = plan_variants(brand, SOURCES, base_seed=0, count=10)
    used = [s.source for s in specs]
    assert set(used) == {"best.jpg", "second.jpg"}
    assert used.count("best.jpg") >= used.count("second.jpg")


def test_variants_per_person_sets_the_count_and_the_grid_caps_it():
    assert len(plan_variants(BrandSpec(variants_per_person=5), SOURCES, base_seed=0)) == 5
    one = (SourceSelfie("only.jpg", 0),)
    brand = BrandSpec(variants_per_person=96, variant_framings=("close_up",), variant_lightings=("soft",))
    # 1 selfie x 1 framing x 1 lighting x 1 background x 2 retouch levels.
    assert len(plan_variants(brand, one, base_seed=0)) == 2


def test_the_lighter_retouch_level_is_used_only_once_the_brand_strength_grid_is_taken():
    one = (SourceSelfie("only.jpg", 0),)
    brand = BrandSpec(retouch=Retouch(strength=0.6))
    specs = plan_variants(brand, one, base_seed=0, count=24)
    at_brand = [s for s in specs if s.retouch_strength == 0.6]
    lighter = [s for s in specs if s.retouch_strength == 0.3]
    assert len(at_brand) == 3 * 4 and len(lighter) == 12
    assert all(s.name.endswith("-r30") for s in lighter) and not any("-r" in s.name for s in at_brand)


def test_variants_come_grouped_so_each_selfie_framing_and_retouch_is_prepared_once():
    specs = plan_variants(two_background_brand(), SOURCES, base_seed=0)
    keys = [s.prepare_key for s in specs]
    seen, previous = set(), None
    for key in keys:
        if key != previous:
            assert key not in seen, "a prepare key came back after another: it would be prepared twice"
            seen.add(key)
        previous = key
    assert len(seen) < len(specs), "several renders share one prepared subject"


def test_seeds_are_stable_per_variant_name_and_follow_the_request_seed():
    first = {s.name: s.seed for s in plan_variants(BrandSpec(), SOURCES, base_seed=7)}
    again = {s.name: s.seed for s in plan_variants(BrandSpec(), SOURCES, base_seed=7)}
    other = {s.name: s.seed for s in plan_variants(BrandSpec(), SOURCES, base_seed=8)}
    assert first == again
    assert all(first[name] != other[name] for name in first)
    assert len(set(first.values())) == len(first)


def test_recorded_params_rebuild_the_same_variant():
    brand = two_background_brand()
    for spec in plan_variants(brand, SOURCES, base_seed=3):
        params = spec.as_params()
        again = VariantSpec.from_params(params, brand)
        assert again == spec and again.name == spec.name and again.seed == params["seed"]


def test_params_that_do_not_describe_their_name_are_refused():
    params = plan_variants(BrandSpec(), SOURCES, base_seed=0)[0].as_params()
    with pytest.raises(ValueError, match="name"):
        VariantSpec.from_params({**params, "name": "cu-soft-bg0-s9"}, BrandSpec())
    with pytest.raises(ValueError, match="background index"):
        VariantSpec.from_params({k: v for k, v in params.items() if k != "name"} | {"background_index": 3}, BrandSpec())


def test_close_up_and_avatar_framings_are_tighter_and_square():
    base = Framing()
    assert framing_for("head_and_shoulders", base) == base
    assert framing_for("close_up", base).head_height > base.head_height
    assert framing_for("square_avatar", base).aspect == 1.0
    assert framing_for("loose", base).head_height < base.head_height
    for style in ("close_up", "square_avatar", "loose"):
        framing_for(style, base).check()


def spec_of(source=SOURCES[0], **fields) -> VariantSpec:
    values = dict(framing_style="close_up", lighting="dramatic", background_index=0, retouch_strength=0.5,
                  base_seed=0) | fields
    return make_variant(source, BrandSpec(), **values)


def test_an_identity_failure_is_regenerated_from_another_selfie_first():
    adjusted, change = adjust_variant(spec_of(), ["identity"], BrandSpec(), SOURCES, tried=set())
    assert change == "another_source" and adjusted.source == "second.jpg"
    assert (adjusted.framing_style, adjusted.lighting) == ("close_up", "dramatic")


def test_a_skin_tone_failure_moves_to_the_plainest_lighting_first():
    adjusted, change = adjust_variant(spec_of(), ["skin_tone"], BrandSpec(), SOURCES, tried=set())
    assert change == "plainer_lighting" and adjusted.lighting == PLAINNESS[0]


def test_a_remedy_that_would_repeat_an_existing_variant_is_skipped():
    tried = {spec_of(lighting="natural").name}
    adjusted, change = adjust_variant(spec_of(), ["skin_tone"], BrandSpec(), SOURCES, tried=tried)
    assert change != "plainer_lighting" and adjusted.name not in tried


def test_changes_accumulate_until_nothing_is_left_to_change():
    spec, tried, changes = spec_of(), set(), []
    while True:
        tried.add(spec.name)
        step = adjust_variant(spec, ["sharpness"], BrandSpec(), SOURCES[:1], tried=tried)
        if step is None:
            break
        spec, change = step
        changes.append(change)
    assert changes[:2] == ["looser_framing", "looser_framing"]  # close-up -> head and shoulders -> loose
    assert spec.framing_style == "loose" and spec.lighting == "natural" and spec.retouch_strength == 0.0
    assert "another_source" not in changes, "there was no other selfie"
