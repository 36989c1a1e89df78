"""A generation as a stream of events (request.GenerationEvent), from any pipeline, and back to one output."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from .request import (
    GenerationEvent,
    GenerationInput,
    GenerationOutput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    HeadshotRank,
)


def generation_events(pipeline: Any, request: GenerationInput) -> Iterator[GenerationEvent]:
    """The pipeline's own stream() where it has one; otherwise its run(), told as events once the whole set is made
    (a backend without streaming still works, its progress just moves at the end)."""
    stream = getattr(pipeline, "stream", None)
    if stream is not None:
        yield from stream(request)
        return
    output = pipeline.run(request)
    done = {headshot.requested_variant for headshot in request.done}
    made = [h for h in output.headshots if h.qc.get("requested_variant", h.variant) not in done]
    yield GenerationPlan(selfies=output.selfies, planned=tuple(
        dict.fromkeys([*done, *(h.qc.get("requested_variant", h.variant) for h in output.headshots)])))
    for headshot in made:
        yield dataclasses.replace(headshot, rank=None, ranking_score=None)
    yield GenerationRanking(selfies=output.selfies, ranks=tuple(
        HeadshotRank(variant=h.variant, rank=h.rank, score=h.ranking_score) for h in output.headshots
        if h.rank is not None), dropped=output.dropped)


def collect_output(events: Iterable[GenerationEvent]) -> GenerationOutput:
    """The stream's headshots with their ranks applied, best first, and the final selfie verdicts."""
    selfies: tuple = ()
    headshots: list[HeadshotOutput] = []
    ranks: dict[str, HeadshotRank] = {}
    dropped: tuple = ()
    for event in events:
        if isinstance(event, HeadshotOutput):
            headshots.append(event)
        elif isinstance(event, (GenerationPlan, GenerationRanking)):
            selfies = event.selfies
            if isinstance(event, GenerationRanking):
                ranks = {rank.variant: rank for rank in event.ranks}
                dropped = event.dropped
    ranked = [dataclasses.replace(h, rank=ranks[h.variant].rank, ranking_score=ranks[h.variant].score)
              if h.variant in ranks else h for h in headshots]
    ranked.sort(key=lambda h: (h.rank is None, h.rank or 0))
    return GenerationOutput(selfies=selfies, headshots=tuple(ranked), dropped=dropped)
