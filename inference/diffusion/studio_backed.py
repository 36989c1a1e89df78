"""What the generative backends (klein.py, backend.py) share: the studio pipeline they inspect, frame, matte and judge
with, the request checked and its selfies inspected, one person's identity and source quality, and the bounds both
configs put on their settings."""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from ..checks import check_inputs
from ..identity import profile_from_embeddings
from ..inspection import SelfieInspection, source_quality
from ..pipeline import HeadshotPipeline
from ..renditions import encode_master_png, make_renditions
from ..request import GenerationInput, HeadshotOutput, SelfieVerdict
from . import appropriateness

DTYPES = ("float32", "float16", "bfloat16")


def check_model_settings(*, dtype: str, generation_long_side: int, max_variants: int) -> None:
    """The bounds every generative config shares; each config checks its own settings besides."""
    if dtype not in DTYPES:
        raise ValueError("dtype must be float32, float16 or bfloat16")
    if not 64 <= generation_long_side <= 2048:
        raise ValueError("generation_long_side must be from 64 to 2048 pixels")
    if not 1 <= max_variants <= 96:
        raise ValueError("max_variants must be from 1 to 96")


class StudioBackedBackend:
    """A generative backend on the studio's models (selfie QC, framing, matting, output QC); a subclass names itself
    in BACKEND, loads its own models and makes the headshots."""

    BACKEND = ""

    def __init__(self, pipeline: HeadshotPipeline | None) -> None:
        self.studio = pipeline or HeadshotPipeline()
        if self.studio.finisher is None:
            raise RuntimeError(f"the {self.BACKEND} backend needs inference/finishing.py (framing and matting)")
        self.last_timings: dict[str, list[float]] = {}

    def close(self) -> None:
        self.studio.close()

    @staticmethod
    def check(request: GenerationInput) -> None:
        """The studio's check of everything but `reproduce`, whose entries are this backend's params."""
        check_inputs(dataclasses.replace(request, reproduce=()))

    def inspect(self, request: GenerationInput) -> tuple[tuple[SelfieVerdict, ...], list[SelfieInspection]]:
        """Every selfie's verdict, and the usable ones (accepted, with an embedding) the headshots are made from."""
        inspected = self.studio.inspect_set(request.selfies)
        return inspected.verdicts, list(inspected.usable)


class StudioBackedRun:
    """One person's generation on a studio-backed backend: the accepted selfies, the person's identity profile (what
    output QC judges a headshot against), other people's profiles, and how good a source each selfie is."""

    def __init__(self, backend: Any, request: GenerationInput, usable: list[SelfieInspection]) -> None:
        self.backend = backend
        self.config = backend.config
        self.components = backend.components
        self.request = request
        self.brand = request.brand
        self.items = {item.verdict.name: item for item in usable}
        self.positions = {s.name: i for i, s in enumerate(request.selfies)}
        self.identity = profile_from_embeddings([i.embedding for i in usable], [i.verdict.name for i in usable])
        self.profile = np.asarray(self.identity.centre, dtype=np.float64)
        self.others = {k: np.asarray(v, np.float64) for k, v in dict(request.other_profiles).items()
                       if np.asarray(v).shape == (128,)}
        self.source_quality = {i.verdict.name: source_quality(i, self.profile) for i in usable}
        self.timings: dict[str, list[float]] = {}

    def _appropriateness(self, rgb: np.ndarray) -> dict[str, Any]:
        """The CLIP appropriateness scores when the store has the model, else why not (recorded, never made up)."""
        scorer = self.components.scorer
        return scorer.score(rgb) if scorer is not None else appropriateness.unavailable(self.components.scorer_missing)

    def _output(self, requested: Any, spec: Any, rendered: Any, scores: dict[str, Any], failures: list[str],
                embedding: np.ndarray | None, attempts: list[dict], *, source: str) -> HeadshotOutput:
        """The headshot encoded with its renditions and its QC record: the scores, why it failed, every earlier
        attempt, and the identity profile it was judged against."""
        started = time.perf_counter()
        image = encode_master_png(rendered.rgb)
        renditions = make_renditions(rendered.rgb, self.brand.output_sizes)
        self._time("encode", started)
        data = {**scores, "passed": not failures, "failures": list(failures), "requested_variant": requested.name,
                "regenerated": spec != requested, "attempts": attempts,
                "regeneration_exhausted": bool(failures) and bool(attempts),
                "identity_profile": {"method": "geometric median of the accepted selfies (identity.py)",
                                     "count": self.identity.count, "spread": round(self.identity.spread, 4)}}
        return HeadshotOutput(source=source, variant=spec.name, params=rendered.params, image=image,
                              renditions=renditions, qc=data, passed=not failures,
                              embedding=None if embedding is None else tuple(float(v) for v in embedding))

    def _time(self, stage: str, started: float) -> None:
        self.timings.setdefault(stage, []).append((time.perf_counter() - started) * 1000.0)
