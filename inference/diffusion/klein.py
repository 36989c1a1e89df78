"""KleinBackend: FLUX.2 [klein] 4B re-photographs the employee from their best selfies (Apache-2.0 weights).

The employee's best accepted selfies are the model's reference images and the brand kit compiles into one
instruction (framing, attire with HEX colours, light, pose, expression, a plain backdrop in the kit's colours, and
what must not change). The result is framed, matted and composited on the kit's rendered background as the studio
does, then judged by output QC: dlib identity (dlib never conditioned generation: the model sees pixels only), a
copy-paste guard, sharpness, exposure, skin tone against the selfies, a style reference's person never leaking in.
Failed variants are made again with a new seed and a firmer "keep the face" instruction; every attempt is recorded.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..background import composite, render_background
from ..brand import Retouch
from ..color import grade
from ..errors import InputError
from ..face_detect import Face, identity_distance, prominent_faces
from ..finishing import SubjectInput
from ..framing import output_size
from ..identity import distance_to_profile
from ..ingest import decode_image
from ..output_qc import OutputQCInput, SkinReference, assess_output, clipped_fractions, skin_reference
from ..ranking import RankingModel, rank_entries
from ..request import (
    GenerationEvent,
    GenerationInput,
    GenerationOutput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    HeadshotRank,
)
from ..streaming import collect_output
from ..variants import framing_for
from .copy_guard import aligned_face, copy_paste_check
from .klein_model import KleinComponents, KleinConfig, generate, load_klein
from .klein_prompt import (
    BACKEND,
    KEEP_FACE_STRONGER,
    MAX_REFERENCES,
    KleinVariant,
    compile_instruction,
    hex_colours,
    pick_references,
    plan_grid,
)
from .studio_backed import StudioBackedBackend, StudioBackedRun

logger = logging.getLogger(__name__)

BACKEND_VERSION = "1"
TEETH_AND_FINGERS = ("unavailable: no model here counts teeth or fingers, so extra or missing ones can't be measured; "
                     "a person reviews every headshot before approval")
_SEED_MULTIPLIER = 1103515245    # LCG step: a retry's seed is a fixed function of the last, so retries reproduce
# -- the backend ------------------------------------------------------------------------------------------------


@dataclass
class _Rendered:
    rgb: np.ndarray
    matte: np.ndarray
    params: dict[str, Any]
    generated: np.ndarray            # the raw model output at the generation size
    face: Face | None
    exposure_gain_ev: float | None


class KleinBackend(StudioBackedBackend):
    """Loads the studio models and klein once; run() has HeadshotPipeline.run()'s contract."""

    BACKEND = BACKEND

    def __init__(self, config: KleinConfig, *, pipeline: Any = None, components: KleinComponents | None = None) -> None:
        self.config = config.check()
        super().__init__(pipeline)
        self.components = components or load_klein(config)

    def run(self, request: GenerationInput) -> GenerationOutput:
        """Ranked, QC'd klein headshots of the person in the accepted selfies; failed ones are regenerated."""
        return collect_output(self.stream(request))

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """run() as it happens: the plan, each headshot as soon as it passes QC or runs out of tries (unranked), then
        the ranks of the whole set. Variants named in request.done (an earlier attempt stored them) are not made
        again, only ranked."""
        self.check(request)
        reproduce = []
        for position, params in enumerate(request.reproduce):
            try:
                spec = KleinVariant.from_params(params)
                batch = [KleinVariant.from_params(p) for p in params.get("batch", [params])]
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise InputError(f"reproduce[{position}] is invalid: {exc}") from None
            if spec not in batch:
                raise InputError(f"reproduce[{position}] is invalid: its batch does not contain it")
            reproduce.append((spec, batch))
        verdicts, usable = self.inspect(request)
        if not usable:
            yield GenerationPlan(selfies=verdicts, planned=())
            yield GenerationRanking(selfies=verdicts, ranks=())
            return
        names = {item.verdict.name for item in usable}
        for position, (_, batch) in enumerate(reproduce):
            missing = sorted({r for spec in batch for r in spec.references} - names)
            if missing:
                raise InputError(f"reproduce[{position}] uses selfie(s) {', '.join(map(repr, missing))}, which are "
                                 f"not accepted selfies of this request")
        person = _KleinRun(self, request, usable)
        yield GenerationPlan(selfies=verdicts, planned=person.planned(reproduce))
        made: list[HeadshotOutput] = []
        for headshot in person.generate(reproduce):
            made.append(headshot)
            yield headshot
        self.last_timings = dict(person.timings)
        yield GenerationRanking(selfies=verdicts, ranks=person.ranks([*request.done, *made]))


class _KleinRun(StudioBackedRun):
    def __init__(self, backend: KleinBackend, request: GenerationInput, usable: list) -> None:
        super().__init__(backend, request, usable)
        self._skin: dict[tuple[str, ...], SkinReference | None] = {}
        self.style = self._load_style_reference()
        quality = self.source_quality
        scored = sorted(((name, q["score"], q["yaw_offset"]) for name, q in quality.items()),
                        key=lambda s: self.positions[s[0]])  # input order breaks ties, so the choice is reproducible
        limit = MAX_REFERENCES - (1 if self.style is not None else 0)
        self.references = tuple(pick_references(scored, limit))
        self.reference_quality = {name: quality[name] for name in self.references}
        self.aligned = {name: aligned_face(self.items[name].image.rgb, self.items[name].face)
                        for name in self.items}

    def _load_style_reference(self) -> dict[str, Any] | None:
        path = self.brand.style_reference
        if not path:
            return None
        started = time.perf_counter()
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"the brand kit's style reference can't be read: {exc.strerror or exc}") from None
        rgb = decode_image(data).rgb
        faces = prominent_faces(self.backend.studio.faces.detect(rgb))
        embedding = None if not faces else np.asarray(self.backend.studio.faces.embed(rgb, faces[0]), np.float64)
        self._time("style_reference", started)
        return {"rgb": rgb, "embedding": embedding, "sha256": hashlib.sha256(data).hexdigest()}

    # -- variants, batches and regeneration --------------------------------------------------------------------

    def planned(self, reproduce: list[tuple[KleinVariant, list[KleinVariant]]]) -> tuple[str, ...]:
        """The requested variant names of the whole set (those an earlier attempt stored included)."""
        return tuple(spec.name for spec, _ in reproduce) if reproduce else tuple(s.name for s in self._planned_specs())

    def _planned_specs(self) -> list[KleinVariant]:
        count = min(self.brand.variants_per_person, self.config.max_variants)
        return [self._initial(i, combo) for i, combo in enumerate(plan_grid(self.brand, count))]

    def generate(self, reproduce: list[tuple[KleinVariant, list[KleinVariant]]]) -> Iterator[HeadshotOutput]:
        """Each headshot as soon as it is final, unranked (ranks() orders the set at the end)."""
        if reproduce:  # a reproduction is exactly what was asked for, made in the batch it was made in, pass or fail
            for spec, batch in reproduce:
                rendered = self._render_batch(batch)[batch.index(spec)]
                scores, failures, embedding = self._qc(spec, rendered)
                yield self._output(spec, spec, rendered, scores, failures, embedding, [], source=spec.references[0])
            return
        done = {headshot.requested_variant for headshot in self.request.done}
        specs = [spec for spec in self._planned_specs() if spec.name not in done]
        yield from self._make(specs, self.brand.regeneration_tries)

    def ranks(self, headshots: Sequence[Any]) -> tuple[HeadshotRank, ...]:
        """The whole set ranked at once: this attempt's headshots and the earlier attempts' (DoneHeadshot) alike."""
        model = RankingModel.from_dict(self.request.ranking)
        entries = [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed} for h in headshots]
        return tuple(HeadshotRank(variant=headshots[r.index].variant, rank=r.rank, score=r.score)
                     for r in rank_entries(entries, model))

    def _initial(self, index: int, combo: tuple[str, str, str, int]) -> KleinVariant:
        attire, lighting, framing, pose = combo
        seed = (self.request.seed + zlib.crc32(f"klein-{index}-{attire}-{lighting}-{framing}-{pose}".encode())) % 2**32
        return KleinVariant(index=index, seed=seed, attire=attire, lighting=lighting, framing=framing, pose=pose,
                            references=self.references, style_reference=self.style is not None)

    def _make(self, specs: list[KleinVariant], tries: int) -> Iterator[HeadshotOutput]:
        """Every variant, batched, each yielded once final; the failures of a round are made again together in the
        next round."""
        requested = {spec.index: spec for spec in specs}
        attempts: dict[int, list[dict[str, Any]]] = {spec.index: [] for spec in specs}
        pending = specs
        while pending:
            retry = []
            for batch in self._batches(pending):
                for spec, rendered in zip(batch, self._render_batch(batch), strict=True):
                    started = time.perf_counter()
                    scores, failures, embedding = self._qc(spec, rendered)
                    self._time("output_qc", started)
                    history = attempts[spec.index]
                    if not failures or len(history) >= tries:
                        yield self._output(requested[spec.index], spec, rendered, scores, failures, embedding,
                                           history, source=spec.references[0])
                        continue
                    adjusted = dataclasses.replace(spec, seed=(spec.seed * _SEED_MULTIPLIER + 12345) % 2**32,
                                                   keep_face=min(spec.keep_face + 1, len(KEEP_FACE_STRONGER)))
                    history.append({"variant": spec.name, "params": spec.as_params(), "failures": list(failures),
                                    "scores": {k: v for k, v in scores.items()
                                               if isinstance(v, (int, float)) and not isinstance(v, bool)},
                                    "change": {"seed": [spec.seed, adjusted.seed],
                                               "keep_face": [spec.keep_face, adjusted.keep_face]}})
                    retry.append(adjusted)
            pending = retry

    def _batches(self, specs: list[KleinVariant]) -> list[list[KleinVariant]]:
        """Variants of one generation size share a model call, up to config.batch_size at a time."""
        groups: dict[tuple[int, int], list[KleinVariant]] = {}
        for spec in specs:
            groups.setdefault(self._generation_size(spec), []).append(spec)
        size = self.config.batch_size
        return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]

    # -- rendering ----------------------------------------------------------------------------------------------

    def _generation_size(self, spec: KleinVariant) -> tuple[int, int]:
        multiple = self.components.size_multiple
        width, height = output_size(framing_for(spec.framing, self.brand.framing), self.config.generation_long_side)
        return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)

    def _reference_images(self, spec: KleinVariant) -> list[np.ndarray]:
        images = [self.items[name].image.rgb for name in spec.references]
        if spec.style_reference:
            if self.style is None:
                raise InputError("this variant was made with the kit's style reference, which the kit no longer has")
            images.append(self.style["rgb"])
        return images

    def _render_batch(self, batch: list[KleinVariant]) -> list[_Rendered]:
        width, height = self._generation_size(batch[0])
        references = self._reference_images(batch[0])
        prompts = [compile_instruction(self.brand, spec) for spec in batch]
        started = time.perf_counter()
        generated = generate(self.components, references=references, prompts=prompts,
                             seeds=[spec.seed for spec in batch], size=(width, height))
        self._time("klein", started)
        batch_params = [spec.as_params() for spec in batch]
        return [self._finish(spec, image, prompt, batch_params, position)
                for position, (spec, image, prompt) in enumerate(zip(batch, generated, prompts, strict=True))]

    def _finish(self, spec: KleinVariant, generated: np.ndarray, prompt: str, batch: list[dict[str, Any]],
                position: int) -> _Rendered:
        """Frame the new picture as the studio frames a selfie, matte it and composite it on the kit's backdrop."""
        started = time.perf_counter()
        framing = framing_for(spec.framing, self.brand.framing)
        out_width = max(self.brand.output_sizes)
        out_size = (out_width, max(1, round(out_width / framing.aspect)))
        faces = prominent_faces(self.backend.studio.faces.detect(generated))
        face = faces[0] if faces else None
        finishing: dict[str, Any]
        gain = None
        if face is not None:
            # Eyes on the brand's line and the same head size for everyone, exactly as the studio frames selfies.
            # No retouch: the model already photographed the skin; it is judged as it came.
            prepared = self.backend.studio.finisher.prepare(SubjectInput(
                rgb=generated, face=face, framing=framing, retouch=Retouch(strength=0.0),
                long_side=max(out_size)))
            person_rgb, matte = prepared.rgb, prepared.matte
            if (person_rgb.shape[1], person_rgb.shape[0]) != out_size:
                person_rgb = cv2.resize(person_rgb, out_size, interpolation=cv2.INTER_AREA)
                matte = cv2.resize(matte, out_size, interpolation=cv2.INTER_AREA)
            gain_value = prepared.measurements.get("face_luma_gain")
            gain = float(gain_value) if isinstance(gain_value, (int, float)) else None
            finishing = {"framed": True, "framing": prepared.params["framing"],
                         "face_exposure": prepared.params.get("face_exposure"), "upscale": prepared.params["upscale"]}
        else:
            # No face to frame by (output QC fails it): the whole picture, matted, so the result is still inspectable.
            matte = self.backend.studio.segmenter.matte(generated, None)
            enlarged = self.components.upscaler.enlarge(generated, out_size, matte)
            person_rgb = enlarged.rgb
            matte = enlarged.matte if enlarged.matte is not None else cv2.resize(matte, out_size)
            finishing = {"framed": False, "reason": "no face found in the generated picture",
                         "upscale": enlarged.params}
        # Every pixel with matte 0 is exactly the kit's background, rendered at the output size.
        person = grade(person_rgb, self.brand.color_grade)
        final = composite(person, matte.astype(np.float32), render_background(self.brand.background, *out_size))
        self._time("finish", started)
        height, width = generated.shape[:2]
        params = {
            "backend": BACKEND, "backend_version": BACKEND_VERSION, "seed": spec.seed, "variant": spec.name,
            "variant_spec": {**spec.as_params(), "batch": batch, "batch_position": position},
            "brand": {"name": self.brand.name, "version": self.brand.version},
            "instruction": prompt, "colours": hex_colours(self.brand),
            "references": list(spec.references),
            "reference_quality": {name: self.reference_quality.get(name) for name in spec.references},
            "style_reference": None if not spec.style_reference or self.style is None
            else {"sha256": self.style["sha256"], "position": len(spec.references) + 1},
            "generation_size": [width, height], "output_size": list(out_size), "steps": self.config.steps,
            "guidance_scale": None, "background_spec": dataclasses.asdict(self.brand.background),
            "finishing": finishing, "config": self.config.as_params(), "models": dict(self.components.models),
            "identity_judge": "dlib-resnet-v1 (did not condition generation: the model sees reference pixels only)",
        }
        return _Rendered(rgb=final, matte=matte.astype(np.float32), params=params, generated=generated, face=face,
                         exposure_gain_ev=gain)

    # -- output QC ------------------------------------------------------------------------------------------------

    def _qc(self, spec: KleinVariant, rendered: _Rendered) -> tuple[dict[str, Any], list[str], np.ndarray | None]:
        studio = self.backend.studio
        best = self.items[spec.references[0]]
        qc = assess_output(studio.faces, OutputQCInput(
            rgb=rendered.rgb, profile_embedding=self.profile,
            profile_distance=lambda e: distance_to_profile(e, self.identity),
            source_embedding=best.embedding, source_skin=self._reference_skin(spec.references),
            exposure_gain_ev=rendered.exposure_gain_ev,
            source_clipped=clipped_fractions(best.image.rgb, best.face.box), other_profiles=self.others,
            matte=rendered.matte, eye_line_target=framing_for(spec.framing, self.brand.framing).eye_line),
            studio.qc_limits)
        scores, failures = dict(qc.scores), list(qc.failures)
        scores["identity_judge"] = "dlib-resnet-v1"
        if scores.get("identity_distance") is None and "identity" not in failures:
            failures.append("identity")  # no face to compare: the person is not confirmed, so it fails
        scores["teeth_and_fingers"] = TEETH_AND_FINGERS
        faces = prominent_faces(studio.faces.detect(rendered.rgb))
        if faces:
            # Copy-paste guard against every accepted selfie (not only the references: any of them pasted is a copy).
            guard, copied = copy_paste_check(aligned_face(rendered.rgb, faces[0]), self.aligned,
                                             self.config.max_face_correlation)
            scores.update(guard)
            if copied:
                failures.append("copy_paste")
        else:
            scores["copy_paste"] = "not measured: no face in the headshot"
        if self.style is not None:
            style_person = self.style["embedding"]
            if style_person is None:
                scores["style_identity"] = "unavailable: no face found in the style reference"
            elif qc.embedding is not None:
                to_style = identity_distance(qc.embedding, style_person)
                scores["style_person_distance"] = round(to_style, 4)
                own = scores.get("identity_distance")
                # The style reference's person must never be the one in the headshot.
                if own is None or not own < to_style:
                    failures.append("style_identity")
        scores["appropriateness"] = self._appropriateness(rendered.rgb)
        return scores, failures, qc.embedding

    def _reference_skin(self, names: Sequence[str]) -> SkinReference | None:
        """The references' skin colour together (pixel-weighted mean CIELAB): the headshot's skin must not drift
        from the person's, whichever selfie's light it resembles."""
        if names not in self._skin:
            found = [r for r in (skin_reference(self.items[n].image.rgb, self.items[n].face) for n in names) if r]
            if not found:
                self._skin[names] = None
            else:
                total = sum(r.pixels for r in found)
                lab = tuple(float(sum(r.lab[i] * r.pixels for r in found) / total) for i in range(3))
                self._skin[names] = SkinReference(lab=lab, pixels=total)  # type: ignore[arg-type]
        return self._skin[names]
