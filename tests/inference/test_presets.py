"""Industry presets: seven named, documented brand-kit starting points that are valid BrandSpecs and really differ."""
from __future__ import annotations

import json

import pytest

from inference.brand import BrandSpec
from inference.presets import PRESETS, catalogue, get_preset, preset_brand_dict

INDUSTRIES = {"corporate_finance", "creative", "healthcare", "real_estate", "tech", "legal", "education"}


def test_every_industry_has_a_preset_with_a_title_and_a_description():
    assert set(PRESETS) == INDUSTRIES
    for preset in PRESETS.values():
        assert preset.title and len(preset.description.split()) >= 15, preset.name


def test_each_preset_is_a_valid_brand_spec_that_survives_json():
    for name in PRESETS:
        data = preset_brand_dict(name, kit_name="Acme")
        spec = BrandSpec.from_dict(json.loads(json.dumps(data)))
        assert spec.to_dict() == data
        assert spec.name == "Acme" and spec.preset == name


def test_each_preset_sets_background_framing_lighting_retouch_and_attire():
    default = BrandSpec().to_dict()
    for name in PRESETS:
        spec = get_preset(name).spec
        for key in ("background", "framing", "lighting", "retouch", "attire_color"):
            assert key in spec, f"{name} leaves {key} unset"
        data = preset_brand_dict(name)
        assert data["background"] != default["background"], name
        assert len(get_preset(name).brand().backgrounds) >= 2, f"{name} offers a single backdrop"


def test_presets_differ_from_each_other():
    looks = {(json.dumps(d["brand"]["background"]), d["brand"]["lighting"], d["brand"]["retouch"]["strength"])
             for d in catalogue()}
    assert len(looks) == len(PRESETS)


def test_conservative_and_creative_presets_read_as_such():
    finance, creative = get_preset("corporate_finance").brand(), get_preset("creative").brand()
    assert creative.retouch.strength < finance.retouch.strength, "creative keeps more skin texture"
    assert creative.framing.head_height > finance.framing.head_height, "creative frames tighter"
    assert finance.attire_color.color is not None and creative.attire_color.color is None


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(KeyError, match="corporate_finance"):
        get_preset("fintech")
