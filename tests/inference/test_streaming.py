"""HeadshotPipeline.stream(): each headshot as soon as it is made, the ranks of the whole set last, and a resumed
set (request.done) that makes only what is missing while still ranking everything."""
from __future__ import annotations

import dataclasses

import pytest

from inference.request import DoneHeadshot, GenerationInput, GenerationPlan, GenerationRanking, HeadshotOutput

from .conftest import person_selfies, solid_brand

pytestmark = pytest.mark.slow


def test_a_stream_makes_each_planned_headshot_once_and_ranks_them_at_the_end(pipeline):
    request = GenerationInput(selfies=person_selfies("angelina")[:1], seed=3,
                              brand=solid_brand(variants_per_person=3, variant_sources=1, output_sizes=(256,)))
    plan, *made, ranking = list(pipeline.stream(request))
    assert isinstance(plan, GenerationPlan) and len(plan.planned) == 3 and plan.selfies[0].accepted
    assert all(isinstance(h, HeadshotOutput) and h.rank is None for h in made)
    assert [h.qc["requested_variant"] for h in made] == list(plan.planned)
    assert isinstance(ranking, GenerationRanking)
    assert sorted(r.rank for r in ranking.ranks) == [1, 2, 3]
    assert {r.variant for r in ranking.ranks} == {h.variant for h in made}

    # The set resumed after its first headshot was stored: only the other two are made, the same as before, and
    # the ranks still cover all three, unchanged.
    resumed = list(pipeline.stream(dataclasses.replace(request, done=(DoneHeadshot.of(made[0]),))))
    again = [event for event in resumed if isinstance(event, HeadshotOutput)]
    assert [h.variant for h in again] == [h.variant for h in made[1:]]
    assert [h.params["seed"] for h in again] == [h.params["seed"] for h in made[1:]]
    assert resumed[0].planned == plan.planned
    assert sorted(resumed[-1].ranks, key=lambda r: r.rank) == sorted(ranking.ranks, key=lambda r: r.rank)

    # run() is the same stream, collected: best first.
    whole = pipeline.run(request)
    best_first = [r.variant for r in sorted(ranking.ranks, key=lambda r: r.rank)]
    assert [h.variant for h in whole.headshots] == best_first
    assert [h.rank for h in whole.headshots] == [1, 2, 3]
