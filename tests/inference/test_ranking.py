"""Ranking: QC scores order a person's variants, and the model learns each brand kit's taste from what employees
pick."""
from __future__ import annotations

import json

import pytest

from inference.ranking import RankingModel, headshot_features, learn_from_selection, rank_entries
from inference.request import GenerationInput

from .conftest import person_selfies, solid_brand


def entry(variant, framing, lighting, *, distance=0.3, delta_e=1.0, sharpness=300.0, passed=True):
    return {
        "variant": variant, "passed": passed,
        "params": {"variant_spec": {"framing_style": framing, "lighting": lighting, "background_index": 0,
                                    "retouch_strength": 0.5}},
        "qc": {"identity_distance": distance, "identity_threshold": 0.6, "skin_delta_e": delta_e,
               "sharpness": sharpness, "face_luma": 65.0, "edge_rim": 1.0, "noise_sigma_face": 1.0,
               "age_drift": "unavailable: no model"},
    }


def test_a_failed_headshot_never_ranks_above_a_passed_one():
    entries = [entry("a", "close_up", "soft", distance=0.1, passed=False), entry("b", "close_up", "soft", distance=0.5)]
    assert [r.index for r in rank_entries(entries)] == [1, 0]


def test_before_any_feedback_better_qc_scores_rank_higher():
    entries = [entry("far", "close_up", "soft", distance=0.5, delta_e=4.0),
               entry("near", "close_up", "soft", distance=0.2)]
    ranked = rank_entries(entries)
    assert ranked[0].index == 1 and ranked[0].rank == 1 and ranked[0].score > ranked[1].score


def test_a_headshot_that_keeps_a_microphone_in_front_of_the_person_ranks_below_clean_ones():
    """selfie_qc's "microphone_below_face" (a podium microphone under the chin that no framing keeps out) stays in
    every headshot of that selfie: clean ones come first even when the one with the microphone is sharper."""
    clean = entry("clean", "close_up", "soft", distance=0.35, sharpness=150.0)
    with_mic = entry("mic", "head_and_shoulders", "studio", distance=0.25, sharpness=600.0)
    with_mic["params"]["source_warnings"] = ["microphone_below_face"]
    framed_out = entry("framed", "close_up", "studio", distance=0.35, sharpness=150.0)
    framed_out["params"]["source_warnings"] = ["microphone_framed_out"]  # kept out of the frame: no penalty
    assert [r.index for r in rank_entries([with_mic, clean])] == [1, 0]
    assert headshot_features(framed_out).get("photo:object_in_frame") is None


def test_unmeasurable_scores_add_nothing():
    assert "qc:age" not in headshot_features(entry("a", "close_up", "soft"))


def test_state_survives_json_and_bad_state_is_refused():
    model = RankingModel()
    model.learn([entry("a", "close_up", "soft"), entry("b", "head_and_shoulders", "soft")], [0])
    again = RankingModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.to_dict() == model.to_dict() and again.events_seen == 1 and again.pairs_seen == 1
    with pytest.raises(ValueError, match="weights"):
        RankingModel.from_dict({"weights": {"framing:close_up": "a lot"}})
    with pytest.raises(ValueError, match="version"):
        RankingModel.from_dict({"version": 99})
    with pytest.raises(ValueError, match="selected"):
        model.learn([entry("a", "close_up", "soft")], [3])


@pytest.fixture(scope="module")
def real_run(pipeline):
    """Real headshots of one person: two framings x two lightings, small renditions to stay fast."""
    brand = solid_brand(output_sizes=(384,), variants_per_person=6, variant_framings=("head_and_shoulders", "close_up"),
                        variant_lightings=("soft", "natural"), regeneration_tries=0)
    return brand, pipeline.run(GenerationInput(selfies=person_selfies("angelina"), brand=brand, seed=1))


def manifest_entries(run):
    return [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed} for h in run.headshots]


def test_after_employees_keep_picking_one_framing_that_framing_ranks_first(pipeline, real_run):
    brand, run = real_run
    shown = manifest_entries(run)
    before = [r.index for r in rank_entries(shown)]
    # The framing the QC-only order puts last: feedback has to overturn the prior to bring it first.
    styles = {i: e["params"]["variant_spec"]["framing_style"] for i, e in enumerate(shown)}
    favoured = styles[before[-1]]
    other = next(s for s in styles.values() if s != favoured)
    close = {i for i, style in styles.items() if style == favoured}
    assert 0 < len(close) < len(shown)
    state = None
    for pick in sorted(close) * 2:  # six employees, each picking one of them
        state = learn_from_selection(state, shown, [pick])
    after = [r.index for r in rank_entries(shown, RankingModel.from_dict(state))]
    assert set(after[: len(close)]) == close, f"every {favoured} now ranks above every other framing"
    assert set(before[: len(close)]) != close, "the test must start from an order the feedback changes"
    assert state["weights"][f"framing:{favoured}"] > 0 > state["weights"][f"framing:{other}"]
    # The pipeline applies the stored state: its own ranks put the favoured framing first.
    again = pipeline.run(GenerationInput(selfies=person_selfies("angelina"), brand=brand, seed=1, ranking=state))
    firsts = [h for h in again.headshots if h.rank <= len(close)]
    assert {h.params["framing_style"] for h in firsts} == {favoured}
    assert [h.rank for h in again.headshots] == list(range(1, len(again.headshots) + 1))
