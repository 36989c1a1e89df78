"""Regeneration: an output that really fails QC is made again with adjusted parameters, and every rejection is
recorded."""
from __future__ import annotations

import pytest

from inference.output_qc import QCLimits
from inference.request import GenerationInput

from .conftest import decode_png, person_selfies, solid_brand

pytestmark = pytest.mark.slow


def brand(**overrides):
    values = dict(output_sizes=(384,), variant_framings=("head_and_shoulders",), variant_sources=1,
                  variants_per_person=1, variant_lightings=("dramatic",), regeneration_tries=0)
    return solid_brand(**(values | overrides))


def run(pipeline, spec, **request):
    return pipeline.run(GenerationInput(selfies=person_selfies("angelina")[:1], brand=spec, seed=5, **request))


@pytest.fixture(scope="module")
def skin_delta(pipeline):
    """Skin-tone drift of the dramatic and the natural lighting on the same selfie, measured under normal QC."""
    both = run(pipeline, brand(variants_per_person=2, variant_lightings=("dramatic", "natural")))
    return {h.params["lighting"]: h.qc["skin_delta_e"] for h in both.headshots}


def test_a_skin_tone_failure_is_regenerated_with_plainer_light_and_the_rejection_recorded(pipeline, skin_delta,
                                                                                          monkeypatch):
    assert skin_delta["dramatic"] > skin_delta["natural"] + 0.3, "the test needs lightings that differ in drift"
    # A bound between the two: the dramatic variant really fails it, the natural one really passes it.
    monkeypatch.setattr(pipeline, "qc_limits",
                        QCLimits(max_skin_delta_e=(skin_delta["dramatic"] + skin_delta["natural"]) / 2))

    (once,) = run(pipeline, brand()).headshots
    assert not once.passed and once.qc["failures"] == ["skin_tone"] and once.qc["attempts"] == []

    (fixed,) = run(pipeline, brand(regeneration_tries=2)).headshots
    assert fixed.passed and fixed.qc["regenerated"] is True
    assert fixed.qc["requested_variant"] == once.variant and fixed.params["lighting"] == "natural"
    (attempt,) = fixed.qc["attempts"]
    assert attempt["variant"] == once.variant and attempt["params"]["lighting"] == "dramatic"
    assert attempt["failures"] == ["skin_tone"] and attempt["change"] == "plainer_lighting"
    assert attempt["scores"]["skin_delta_e"] == pytest.approx(once.qc["skin_delta_e"])


def test_an_output_that_keeps_failing_stops_after_the_allowed_tries_with_every_reason(pipeline, monkeypatch):
    # No headshot can be this sharp: every attempt really fails the sharpness check.
    monkeypatch.setattr(pipeline, "qc_limits", QCLimits(min_sharpness=1e9))
    spec = brand(regeneration_tries=3, variant_sources=2, variant_framings=("close_up",))
    result = pipeline.run(GenerationInput(selfies=person_selfies("angelina"), brand=spec, seed=5))
    (headshot,) = result.headshots
    assert not headshot.passed and "sharpness" in headshot.qc["failures"]
    attempts = headshot.qc["attempts"]
    assert len(attempts) == 3
    assert all("sharpness" in a["failures"] for a in attempts)
    names = [a["variant"] for a in attempts] + [headshot.variant]
    assert len(set(names)) == 4, "each try changes something"
    # Sharpness asks for looser framing first, then another selfie.
    assert [a["change"] for a in attempts][:2] == ["looser_framing", "looser_framing"]
    assert attempts[0]["params"]["framing_style"] == "close_up"
    assert headshot.params["framing_style"] == "loose" or headshot.source != attempts[0]["params"]["source"]


def test_a_recorded_variant_is_made_again_exactly(pipeline):
    spec = brand(variants_per_person=2, variant_lightings=("soft", "studio"))
    first = run(pipeline, spec)
    target = first.headshots[-1]
    again = run(pipeline, spec, reproduce=(target.params["variant_spec"],))
    (copy,) = again.headshots
    assert (copy.variant, copy.params["seed"]) == (target.variant, target.params["seed"])
    assert (decode_png(copy.image) == decode_png(target.image)).all()
