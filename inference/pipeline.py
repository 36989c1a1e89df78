"""HeadshotPipeline: the studio backend end to end, from selfie bytes to QC'd headshots; what a Ray actor holds.

The stages live beside it: the request's checks (checks.py), selfie inspection (inspection.py) and its messages
(messages.py), and one person's generation with regeneration (regeneration.py).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2

from .checks import check_inputs
from .face_detect import SAME_PERSON_DISTANCE, FaceAnalyzer
from .face_mesh import FaceMesher
from .finishing import Finisher
from .ingest import IngestLimits
from .inspection import MIN_EYE_DISTANCE_PX, SelfieInspection, SelfieInspector, SetInspection
from .matting import DEFAULT_MODEL_PATH, load_portrait_matter
from .messages import rejected
from .output_qc import QCLimits
from .regeneration import PersonRun
from .request import (
    GenerationEvent,
    GenerationInput,
    GenerationOutput,
    GenerationPlan,
    GenerationRanking,
    SelfieInput,
    SelfieVerdict,
)
from .segmentation import PersonSegmenter
from .streaming import collect_output

logger = logging.getLogger(__name__)


class HeadshotPipeline:
    """Loads every model once in __init__; inspect_selfie() and run() are then safe to call many times."""

    def __init__(
        self,
        *,
        limits: IngestLimits | None = None,
        min_eye_distance_px: float = MIN_EYE_DISTANCE_PX,
        identity_threshold: float = SAME_PERSON_DISTANCE,
        opencv_threads: int | None = 1,
        qc_limits: QCLimits | None = None,
        portrait_matte_model: str | Path | None = DEFAULT_MODEL_PATH,
    ) -> None:
        if opencv_threads is not None:
            # OpenCV's own pool fights the actor's other work (and the hidden load) for the same cores.
            cv2.setNumThreads(opencv_threads)
        self.identity_threshold = identity_threshold
        self.faces = FaceAnalyzer()
        # MODNet's portrait matte when its file is there (a wrong file is an error here, at start); else mediapipe.
        self.segmenter = PersonSegmenter(load_portrait_matter(portrait_matte_model))
        # Output QC bounds; the identity bound follows identity_threshold unless limits are given.
        self.qc_limits = qc_limits or QCLimits(identity=identity_threshold)
        # One face-mesh model serves selfie QC and finishing.
        self.mesher = FaceMesher()
        self.inspector = SelfieInspector(self.faces, self.mesher, limits=limits,
                                         min_eye_distance_px=min_eye_distance_px)
        self.limits = self.inspector.limits
        self.finisher = Finisher(segmenter=self.segmenter, mesher=self.mesher)
        # Milliseconds per generation stage of the last run() (prepare, render, qc, encode, ...), for benchmarks.
        self.last_timings: dict[str, list[float]] = {}

    def close(self) -> None:
        self.segmenter.close()

    # -- selfies ---------------------------------------------------------------------------------------------

    def inspect_selfie(self, selfie: SelfieInput) -> SelfieVerdict:
        """Accept or reject one photo, with reason codes and human messages; never raises for bad bytes."""
        return self.inspector.inspect_selfie(selfie)

    def inspect(self, selfie: SelfieInput) -> SelfieInspection:
        """inspect_selfie() plus the decoded image, face and embedding that run() reuses."""
        return self.inspector.inspect(selfie)

    def inspect_set(self, selfies: tuple[SelfieInput, ...] | list[SelfieInput]) -> SetInspection:
        """Every photo's own checks, then the set's (SelfieInspector.inspect_set)."""
        return self.inspector.inspect_set(selfies)

    # -- generation ------------------------------------------------------------------------------------------

    def run(self, request: GenerationInput) -> GenerationOutput:
        """Ranked, QC'd variants (brand.variants_per_person) of the person in the accepted selfies.

        Rejected selfies only get their verdicts; with no usable selfie it returns the verdicts and no headshots,
        and the caller decides what that means. A variant that fails output QC is regenerated with adjusted
        parameters up to brand.regeneration_tries times; every rejected attempt is recorded in qc["attempts"].
        """
        return collect_output(self.stream(request))

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """run() as it happens: the selfie verdicts and the plan, each headshot as soon as it is made (unranked),
        then the ranks of the whole set. Variants named in request.done are not made again, only ranked."""
        check_inputs(request)
        inspected = self.inspect_set(request.selfies)
        inspections, usable = list(inspected.inspections), list(inspected.usable)
        verdicts = {item.verdict.name: item.verdict for item in inspections}
        if not usable:
            yield GenerationPlan(selfies=tuple(verdicts.values()), planned=())
            yield GenerationRanking(selfies=tuple(verdicts.values()), ranks=())
            return
        person = PersonRun(self, request, inspections, usable)
        yield GenerationPlan(selfies=tuple(verdicts.values()), planned=tuple(spec.name for spec in person.specs))
        yield from person.generate()
        self.last_timings = dict(person.timings)
        for name in person.failed_sources:
            verdict = verdicts[name]
            verdicts[name] = rejected(name, "processing_failed", width=verdict.width, height=verdict.height)
        yield GenerationRanking(selfies=tuple(verdicts.values()), ranks=person.ranks(), dropped=tuple(person.dropped))
