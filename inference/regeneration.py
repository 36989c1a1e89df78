"""One person's studio headshots: plan the variants, prepare each selfie once per (framing, retouch), render, judge
with output QC, regenerate a failed variant with adjusted parameters while tries are left, rank the set."""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .brand import BrandSpec, Retouch
from .checks import profile_vector
from .face_detect import FaceAnalyzer
from .finishing import Finisher, LookInput, SubjectInput
from .framing import FramingPlan
from .identity import distance_to_profile, profile_from_embeddings
from .inspection import SelfieInspection, keep_out_below, source_quality
from .near_duplicate import ImagePrint, image_print, same_image
from .output_qc import (
    FaceTone,
    OutputQCInput,
    QCLimits,
    SkinReference,
    assess_output,
    clipped_fractions,
    face_tone,
    skin_reference,
)
from .ranking import RankingModel, rank_entries
from .renditions import encode_master_png, make_renditions
from .request import DoneHeadshot, GenerationInput, HeadshotOutput, HeadshotRank
from .variants import (
    FramingFit,
    SourceSelfie,
    VariantSpec,
    adjust_variant,
    fills_framing,
    framing_fit,
    make_variant,
    plan_variants,
)

logger = logging.getLogger(__name__)

BACKEND = "studio"
PIPELINE_VERSION = "0"
# Prepared subjects kept at once: variants come grouped by prepare key, so only regeneration revisits older ones.
_PREPARED_CACHE = 4


def _offered(fit: FramingFit, offered: tuple[str, ...]) -> tuple[str, ...]:
    """The styles a selfie fills (and a grid style it doesn't fill is never planned) that the kit offers."""
    kept = tuple(style for style in offered if style not in fit.extensions or style in fit.styles)
    return kept or (min(offered, key=lambda style: fit.extensions.get(style, 0.0)),)


class StudioModels(Protocol):
    """What a person's run uses of HeadshotPipeline: its loaded models and output QC bounds."""

    faces: FaceAnalyzer
    finisher: Finisher
    qc_limits: QCLimits


def studio_params(brand: BrandSpec, plan: FramingPlan, *, variant: str, seed: int) -> dict[str, Any]:
    """The params every studio headshot records: backend, version, seed, the brand and the framing plan."""
    return {
        "backend": BACKEND,
        "pipeline_version": PIPELINE_VERSION,
        "seed": seed,
        "variant": variant,
        "brand": {"name": brand.name, "version": brand.version},
        "framing": plan.as_params(),
        "background": brand.background.kind,
        "lighting": brand.lighting,
        "color_grade": {
            "temperature": brand.color_grade.temperature,
            "saturation": brand.color_grade.saturation,
            "contrast": brand.color_grade.contrast,
        },
        "attire": brand.attire,
        "output_sizes": list(brand.output_sizes),
    }


@dataclass
class _Rendered:
    rgb: np.ndarray
    matte: np.ndarray
    plan: FramingPlan
    params: dict[str, Any]
    halo_score: float | None
    # The global exposure gain (stops) finishing applied to the selfie; None when none was applied.
    exposure_gain_ev: float | None = None


class _SourceFailed(Exception):
    """Preparing a selfie crashed: that selfie is rejected (processing_failed) and its variants move elsewhere."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.source = source


class PersonRun:
    """One person's generation: plan variants, prepare once per (selfie, framing, retouch), render, QC, regenerate,
    rank."""

    def __init__(self, pipeline: StudioModels, request: GenerationInput, inspections: list[SelfieInspection],
                 usable: list[SelfieInspection]) -> None:
        self.pipeline = pipeline
        self.request = request
        self.brand = request.brand
        self.items = {item.verdict.name: item for item in usable}
        positions = {item.verdict.name: i for i, item in enumerate(inspections)}
        # The identity profile: the robust centre (identity.py) of every accepted selfie of this employee.
        self.identity = profile_from_embeddings([item.embedding for item in usable],
                                                [item.verdict.name for item in usable])
        self.profile = np.asarray(self.identity.centre, dtype=np.float64)
        self.others = {name: profile_vector(v) for name, v in dict(request.other_profiles).items()}
        self.source_scores = {item.verdict.name: source_quality(item, self.profile) for item in usable}
        ranked = sorted(usable, key=lambda item: (-self.source_scores[item.verdict.name]["score"],
                                                  positions[item.verdict.name]))
        self.sources = [SourceSelfie(item.verdict.name, positions[item.verdict.name]) for item in ranked]
        self.failed_sources: list[str] = []
        self.timings: dict[str, list[float]] = defaultdict(list)
        self._prepared: OrderedDict[tuple, Any] = OrderedDict()
        self._skin: dict[str, SkinReference | None] = {}
        self._tone: dict[str, FaceTone | None] = {}
        # Every delivered image of this person (variant name, print), and what was not delivered and why.
        self._delivered: list[tuple[str, ImagePrint]] = []
        self.dropped: list[dict[str, Any]] = []
        self._mattes: dict[str, np.ndarray | None] = {}
        # Per selfie, the brand framings it fills without inventing body below the photo (tighter ones preferred).
        # A microphone below the face is kept out of the frame where a fitting style ends above it.
        self.fits = {name: framing_fit(item.face, item.image.width, item.image.height, self.brand.framing,
                                       keep_out_below=keep_out_below(item.metrics))
                     for name, item in self.items.items()}
        # Planned: the kit's own framings among them (when it offers none of them: the kit's that needs least).
        # Regeneration keeps to what the selfie fills (no "looser" head-and-shoulders from one that can't fill it).
        self._plan_styles = {name: _offered(fit, self.brand.variant_framings) for name, fit in self.fits.items()}
        self._styles_for = {name: tuple(dict.fromkeys(fit.styles + self._plan_styles[name]))
                            for name, fit in self.fits.items()}
        if request.reproduce:
            self.specs = tuple(VariantSpec.from_params(dict(p), self.brand) for p in request.reproduce)
            self.tries = 0  # a reproduction is exactly what was asked for, pass or fail
        else:
            self.specs = plan_variants(self.brand, self.sources, base_seed=request.seed, styles_for=self._plan_styles)
            self.tries = self.brand.regeneration_tries
        self.made: list[HeadshotOutput] = []

    # -- the loop --------------------------------------------------------------------------------------------

    def generate(self) -> Iterator[HeadshotOutput]:
        """Each planned variant as soon as it is made, unranked (ranks() orders the set at the end); variants an
        earlier attempt delivered (request.done) are skipped, and their names stay taken."""
        done = {headshot.requested_variant for headshot in self.request.done}
        taken = {spec.name for spec in self.specs} | {headshot.variant for headshot in self.request.done}
        for spec in self.specs:
            if spec.name in done:
                continue
            headshot = self._make_variant(spec, self.tries, taken)
            if headshot is not None:
                self.made.append(headshot)
                taken.add(headshot.variant)
                yield headshot

    def ranks(self) -> tuple[HeadshotRank, ...]:
        """The whole set ranked at once, this attempt's headshots and the earlier attempts' alike."""
        return self._ranked([*self.request.done, *self.made])

    def _make_variant(self, spec: VariantSpec, tries: int, taken: set[str]) -> HeadshotOutput | None:
        """Make one variant, regenerating it with adjusted parameters while it fails QC and tries are left."""
        attempts: list[dict[str, Any]] = []
        current: VariantSpec | None = spec
        seen: list[tuple[str, ImagePrint]] = []  # this variant's earlier tries
        fallback = None  # the last try that was a picture of its own, for when every later one is a copy
        while current is not None:
            try:
                rendered = self._render(current)
            except _SourceFailed as failure:
                self._drop_source(failure.source)
                current = self._retarget(current, taken)
                continue
            printed = image_print(rendered.rgb)
            copy_of = next((name for name, other in self._delivered + seen if same_image(printed, other)), None)
            if copy_of is not None:
                # The same picture as one delivered or tried already (QC would only repeat itself): never deliver
                # it twice; make it differently while tries are left.
                adjusted = None if len(attempts) >= tries else adjust_variant(
                    current, ["duplicate"], self.brand, self._live_sources(), tried=taken | {current.name},
                    styles_for=self._styles_for)
                attempts.append({"variant": current.name, "params": current.as_params(), "failures": ["duplicate"],
                                 "duplicate_of": copy_of, "scores": {},
                                 "change": None if adjusted is None else adjusted[1]})
                taken.add(current.name)
                if adjusted is None:
                    return self._deliver_fallback(spec, current, copy_of, fallback, attempts)
                current = adjusted[0]
                continue
            seen.append((current.name, printed))
            started = time.perf_counter()
            qc = assess_output(self.pipeline.faces, OutputQCInput(
                rgb=rendered.rgb, profile_embedding=self.profile,
                profile_distance=lambda embedding: distance_to_profile(embedding, self.identity),
                source_embedding=self.items[current.source].embedding, source_skin=self._source_skin(current.source),
                source_clipped=self._source_clipped(current.source), exposure_gain_ev=rendered.exposure_gain_ev,
                source_tone=self._source_tone(current.source),
                other_profiles=self.others, matte=rendered.matte, eye_line_target=rendered.plan.framing.eye_line,
                halo_score=rendered.halo_score,
            ), self.pipeline.qc_limits)
            self._time("output_qc", started)
            last = len(attempts) >= tries
            if qc.passed or last:
                return self._output(spec, current, rendered, qc, attempts)
            adjusted = adjust_variant(current, qc.failures, self.brand, self._live_sources(),
                                      tried=taken | {current.name}, styles_for=self._styles_for)
            attempts.append({
                "variant": current.name, "params": current.as_params(), "failures": list(qc.failures),
                "scores": {k: v for k, v in qc.scores.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool)},
                "change": None if adjusted is None else adjusted[1],
            })
            if adjusted is None:  # nothing left to change: deliver the last attempt, failed and explained
                attempts.pop()
                return self._output(spec, current, rendered, qc, attempts, exhausted=True)
            fallback = (current, rendered, qc, len(attempts) - 1)
            taken.add(current.name)
            current = adjusted[0]
        return None

    def _deliver_fallback(self, requested: VariantSpec, copy: VariantSpec, copy_of: str, fallback,
                          attempts: list[dict]) -> HeadshotOutput | None:
        """Tries ran out on a copy: deliver the last try that was a picture of its own (failed QC, explained), or
        drop the variant with the reason recorded."""
        if fallback is not None:
            spec, rendered, qc, position = fallback
            return self._output(requested, spec, rendered, qc, attempts[:position] + attempts[position + 1:],
                                exhausted=True)
        self.dropped.append({"requested_variant": requested.name, "variant": copy.name, "reason": "duplicate",
                             "duplicate_of": copy_of, "attempts": attempts})
        logger.info("variant %s dropped: the same image as %s", requested.name, copy_of)
        return None

    def _output(self, requested: VariantSpec, spec: VariantSpec, rendered: _Rendered, qc, attempts: list[dict],
                *, exhausted: bool = False) -> HeadshotOutput:
        started = time.perf_counter()
        self._delivered.append((spec.name, image_print(rendered.rgb)))
        master = encode_master_png(rendered.rgb)
        renditions = make_renditions(rendered.rgb, self.brand.output_sizes)
        self._time("encode", started)
        data = dict(qc.scores)
        data.update({
            "passed": qc.passed,
            "failures": list(qc.failures),
            "requested_variant": requested.name,
            "regenerated": spec.name != requested.name,
            # Every rejected attempt before this output, with its parameters and why it was rejected; when the
            # output itself still failed, its own failures are in "failures" above.
            "attempts": attempts,
            "regeneration_exhausted": exhausted,
            "source_quality": self.source_scores[spec.source],
            "identity_profile": {"method": "geometric median of the accepted selfies (identity.py)",
                                 "count": self.identity.count, "spread": round(self.identity.spread, 4)},
        })
        return HeadshotOutput(
            source=spec.source, variant=spec.name, params=rendered.params, image=master, renditions=renditions,
            qc=data, passed=qc.passed,
            embedding=None if qc.embedding is None else tuple(float(v) for v in qc.embedding),
        )

    def _ranked(self, headshots: list[HeadshotOutput | DoneHeadshot]) -> tuple[HeadshotRank, ...]:
        model = RankingModel.from_dict(self.request.ranking)
        entries = [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed} for h in headshots]
        return tuple(
            HeadshotRank(variant=headshots[r.index].variant, rank=r.rank, score=r.score)
            for r in rank_entries(entries, model)
        )

    # -- sources ---------------------------------------------------------------------------------------------

    def _live_sources(self) -> list[SourceSelfie]:
        return [s for s in self.sources if s.name not in self.failed_sources]

    def _drop_source(self, name: str) -> None:
        if name not in self.failed_sources:
            self.failed_sources.append(name)
        for key in [key for key in self._prepared if key[0] == name]:
            del self._prepared[key]

    def _retarget(self, spec: VariantSpec, taken: set[str]) -> VariantSpec | None:
        """The same variant from another working selfie, if that one isn't made already."""
        for source in self._live_sources():
            candidate = make_variant(source, self.brand, framing_style=spec.framing_style, lighting=spec.lighting,
                                     background_index=spec.background_index,
                                     retouch_strength=spec.retouch_strength, base_seed=spec.base_seed)
            if candidate.name not in taken and fills_framing(candidate, self._styles_for):
                taken.add(candidate.name)
                return candidate
        return None

    def _source_clipped(self, name: str) -> tuple[float, float]:
        item = self.items[name]
        return clipped_fractions(item.image.rgb, item.face.box)

    def _source_tone(self, name: str) -> FaceTone | None:
        if name not in self._tone:
            item = self.items[name]
            self._tone[name] = face_tone(item.image.rgb, item.face)
        return self._tone[name]

    def _source_skin(self, name: str) -> SkinReference | None:
        if name not in self._skin:
            item = self.items[name]
            self._skin[name] = skin_reference(item.image.rgb, item.face)
        return self._skin[name]

    # -- prepare and render ----------------------------------------------------------------------------------

    def _render(self, spec: VariantSpec) -> _Rendered:
        brand = self.brand
        framing = spec.framing(brand)
        width = max(brand.output_sizes)
        size = (width, max(1, round(width / framing.aspect)))
        prepared = self._prepare(spec, framing, size)
        background = brand.backgrounds[spec.background_index]
        started = time.perf_counter()
        look = LookInput(background=background, lighting=spec.lighting, color_grade=brand.color_grade,
                         attire=brand.attire_color)
        finished = self.pipeline.finisher.render(prepared, look)
        rgb, matte, plan = finished.rgb, finished.matte, finished.plan
        finish_params, measurements = finished.params, finished.measurements
        halo = measurements.get("halo")
        self._time("render", started)
        params = studio_params(brand, plan, variant=spec.name, seed=spec.seed)
        params.update({
            "variant_spec": spec.as_params(),
            # The gallery groups by this: framing style + lighting, e.g. "Close-up, studio light".
            "look": spec.look,
            "framing_style": spec.framing_style,
            "lighting": spec.lighting,
            "background": background.kind,
            "background_index": spec.background_index,
            "background_spec": dataclasses.asdict(background),
            "retouch": {"strength": spec.retouch_strength, "min_texture_share": brand.retouch.min_texture_share},
            "finishing": finish_params,
            "finishing_measurements": measurements,
            # Why this selfie gets only some framings (None excluded: it fills them all).
            "framing_fit": self.fits[spec.source].as_params(),
            # What selfie QC saw that stays in the picture (e.g. a microphone below the face), with its tip.
            "source_warnings": list(self.items[spec.source].verdict.metrics.get("warnings", [])),
        })
        gain = measurements.get("face_luma_gain")
        return _Rendered(rgb=rgb, matte=matte, plan=plan, params=params,
                         halo_score=float(halo) if isinstance(halo, (int, float)) else None,
                         exposure_gain_ev=float(gain) if isinstance(gain, (int, float)) else None)

    def _prepare(self, spec: VariantSpec, framing, size: tuple[int, int]):
        key = spec.prepare_key
        if key in self._prepared:
            self._prepared.move_to_end(key)
            return self._prepared[key]
        item = self.items[spec.source]
        started = time.perf_counter()
        try:
            retouch = Retouch(strength=spec.retouch_strength, min_texture_share=self.brand.retouch.min_texture_share)
            prepared = self.pipeline.finisher.prepare(SubjectInput(
                rgb=item.image.rgb, face=item.face, framing=framing, retouch=retouch, long_side=max(size),
                source_matte=self._selfie_matte(spec.source)))
        except Exception:  # one photo must never sink the others; the failure is logged with its traceback
            logger.exception("preparing selfie %r for variant %s failed", spec.source, spec.name)
            raise _SourceFailed(spec.source) from None
        self._time("prepare", started)
        self._prepared[key] = prepared
        while len(self._prepared) > _PREPARED_CACHE:
            self._prepared.popitem(last=False)
        return prepared

    def _selfie_matte(self, name: str) -> np.ndarray | None:
        """The selfie's MODNet matte, computed once for all its framings (None with mediapipe: per framing)."""
        if name not in self._mattes:
            started = time.perf_counter()
            item = self.items[name]
            self._mattes[name] = self.pipeline.finisher.selfie_matte(item.image.rgb, item.face)
            self._time("selfie_matte", started)
        return self._mattes[name]

    def _time(self, stage: str, started: float) -> None:
        self.timings[stage].append((time.perf_counter() - started) * 1000.0)

