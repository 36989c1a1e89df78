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
import math
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from ..background import composite, render_background
from ..brand import BrandSpec, Retouch
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
from .components import load_finishers, torch_dtype
from .model_store import KLEIN_MODELS, ModelStore
from .studio_backed import StudioBackedBackend, StudioBackedRun, check_model_settings

logger = logging.getLogger(__name__)

BACKEND = "klein"
BACKEND_VERSION = "1"
# The model takes at most four reference images; a style reference takes one of them.
MAX_REFERENCES = 4
# The pose axis of the variant grid: small, natural changes a photographer asks for.
POSES: tuple[str, ...] = (
    "facing the camera, shoulders square",
    "body turned slightly to the left, face towards the camera",
    "body turned slightly to the right, face towards the camera",
    "head tilted very slightly, relaxed shoulders",
)
FRAMING_TEXT = {
    "head_and_shoulders": "head-and-shoulders portrait, eyes about {eye:.0%} from the top of the frame, "
                          "the head about {head:.0%} of the frame height, centred",
    "close_up": "close-up portrait, the head filling about {head:.0%} of the frame height, eyes about {eye:.0%} from "
                "the top, centred",
    "square_avatar": "square avatar crop, head and upper shoulders, the face centred, eyes about {eye:.0%} from the "
                     "top",
}
LIGHTING_TEXT = {
    "soft": "soft, even, diffused studio light from the front, gentle shadows",
    "studio": "classic studio key light from one side with a fill light, defined but soft shadows",
    "dramatic": "directional key light with deeper shadows on one side and a subtle rim light",
    "natural": "natural window light, soft and bright, true colours",
}
KEEP_FACE = ("Keep unchanged: the person's face and facial features, hair, skin tone, age and glasses (if they wear "
             "any). It must be unmistakably the same person.")
# Regeneration after a failure adds these, one more per try: a firmer instruction to keep the face.
KEEP_FACE_STRONGER = (
    "Most important: do not alter the face. Same eyes, nose, mouth, jawline, eyebrows, skin tone and hairline as in "
    "the reference photos; no beautifying, no slimming, no ageing or de-ageing.",
    "Copy the identity exactly from the reference photos; only clothing, light, pose and background may differ.",
    "The face must match the reference photos feature for feature.",
)
STYLE_REFERENCE = ("Reference image {n} is a style reference only: match its light, framing, attire formality and "
                   "colour grade, but never its person: do not take that person's face, hair, skin tone or identity.")
TEETH_AND_FINGERS = ("unavailable: no model here counts teeth or fingers, so extra or missing ones can't be measured; "
                     "a person reviews every headshot before approval")
# Copy-paste guard: the output's face, aligned on the eyes like the reference's, is compared pixel for pixel by the
# rank correlation of their grey values (blind to grade, exposure and contrast curves). Measured through this
# backend's finishing on six dev people: a pasted selfie scores 0.905-0.997, another real photo of the same person
# (what a re-photograph is like: new light, pose, expression) 0.35-0.87.
MAX_FACE_CORRELATION = 0.89
ALIGNED_FACE = (64, 80)          # width, height of the aligned face crop the guard compares
_EYE_Y, _EYE_GAP = 0.38, 0.42    # where the eyes go in that crop (share of height; eye distance share of width)
_SEED_MULTIPLIER = 1103515245    # LCG step: a retry's seed is a fixed function of the last, so retries reproduce
_PROMPT_CACHE_SIZE = 256


@dataclass(frozen=True)
class KleinConfig:
    """Everything a deployment chooses about the klein backend; recorded with every output."""

    store: Path
    device: str = "cpu"
    dtype: str = "float32"                # "bfloat16" on GPUs (DIFFUSION_DTYPE)
    compile: bool = False                 # torch.compile the transformer (GPU; slow first call)
    generation_long_side: int = 1024
    steps: int = 4                        # the distilled model's step count
    batch_size: int = 4                   # variants per model call (they share the references)
    max_variants: int = 96                # a cap per deployment; the kit's variants_per_person decides below it
    max_sequence_length: int = 512
    text_encoder_out_layers: tuple[int, ...] = (9, 18, 27)   # Qwen3 hidden states the transformer reads
    upscaler_model: str = "realesrgan-x4"
    appropriateness_model: str = "clip-appropriateness"
    max_face_correlation: float = MAX_FACE_CORRELATION
    verify: str = "sha256"

    def check(self) -> KleinConfig:
        check_model_settings(dtype=self.dtype, generation_long_side=self.generation_long_side,
                             max_variants=self.max_variants)
        if not 1 <= self.steps <= 100:
            raise ValueError("steps must be from 1 to 100")
        if not 1 <= self.batch_size <= 16:
            raise ValueError("batch_size must be from 1 to 16")
        if not self.text_encoder_out_layers:
            raise ValueError("text_encoder_out_layers must name at least one layer")
        if not 0.0 < self.max_face_correlation < 1.0:
            raise ValueError("max_face_correlation must be between 0 and 1")
        return self

    def as_params(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["store"] = str(self.store)
        data["text_encoder_out_layers"] = list(self.text_encoder_out_layers)
        return data


@dataclass
class KleinComponents:
    """The pipeline and its helpers, loaded once per worker (a Ray actor keeps them resident)."""

    pipe: Any                                  # diffusers.Flux2KleinPipeline
    config: KleinConfig
    upscaler: Any
    scorer: Any | None
    scorer_missing: str | None
    models: dict[str, dict[str, Any]]
    store: ModelStore | None
    # Text embeddings per instruction: a kit's prompts repeat for every employee, so they are encoded once.
    prompt_cache: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    prompt_cache_hits: int = 0

    @property
    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)


def load_klein(config: KleinConfig, store: ModelStore | None = None) -> KleinComponents:
    """The three klein models from the store, local files only; a missing or corrupt one raises ModelStoreError."""
    # lazy: diffusers and transformers take seconds to import, and only loading the models needs them
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import AutoTokenizer, Qwen3ForCausalLM  # lazy: see diffusers above

    config.check()
    store = store or ModelStore(config.store, verify=config.verify)
    dtype = torch_dtype(config.dtype)
    used: dict[str, dict[str, Any]] = {}
    folders = {}
    for name in KLEIN_MODELS:  # verify all three before loading any: a bad store fails in seconds, not minutes
        model = store.get(name)
        used[name] = model.as_params()
        folders[name] = str(model.path)
    transformer = Flux2Transformer2DModel.from_pretrained(folders["klein-4b-transformer"], subfolder="transformer",
                                                          dtype=dtype, local_files_only=True)
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(folders["klein-4b-transformer"], subfolder="scheduler",
                                                                local_files_only=True)
    vae = AutoencoderKLFlux2.from_pretrained(folders["klein-4b-vae"], subfolder="vae", dtype=dtype,
                                             local_files_only=True)
    text_encoder = Qwen3ForCausalLM.from_pretrained(folders["klein-4b-text-encoder"], subfolder="text_encoder",
                                                    dtype=dtype, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folders["klein-4b-text-encoder"], subfolder="tokenizer",
                                              local_files_only=True)
    pipe = Flux2KleinPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                              transformer=transformer, is_distilled=True)
    pipe.to(config.device)
    pipe.set_progress_bar_config(disable=True)
    if config.compile:
        pipe.transformer = torch.compile(pipe.transformer)

    upscaler, scorer, missing = load_finishers(store, used, upscaler_model=config.upscaler_model,
                                               appropriateness_model=config.appropriateness_model,
                                               device=config.device, dtype=dtype)
    return KleinComponents(pipe=pipe, config=config, upscaler=upscaler, scorer=scorer, scorer_missing=missing,
                           models=used, store=store)


# -- the instruction --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KleinVariant:
    """One headshot's recipe; with the request's selfies, the brand kit version and the same store, it remakes it."""

    index: int
    seed: int
    attire: str
    lighting: str
    framing: str
    pose: int
    references: tuple[str, ...]       # selfie names, in the order they go to the model
    style_reference: bool = False
    keep_face: int = 0                # 0 = the plain instruction; each regeneration adds a firmer sentence

    @property
    def name(self) -> str:
        return f"kl-v{self.index}-{self.seed:08x}"

    def as_params(self) -> dict[str, Any]:
        return {"backend": BACKEND, "index": self.index, "seed": self.seed, "attire": self.attire,
                "lighting": self.lighting, "framing": self.framing, "pose": self.pose,
                "references": list(self.references), "style_reference": self.style_reference,
                "keep_face": self.keep_face}

    @classmethod
    def from_params(cls, data: Mapping[str, Any]) -> KleinVariant:
        if data.get("backend") != BACKEND:
            raise ValueError("not a klein variant (params['backend'] must be 'klein')")
        pose = int(data["pose"])
        if not 0 <= pose < len(POSES):
            raise ValueError(f"pose must be from 0 to {len(POSES) - 1}")
        if data["framing"] not in FRAMING_TEXT:
            raise ValueError(f"framing must be one of {', '.join(FRAMING_TEXT)}")
        if data["lighting"] not in LIGHTING_TEXT:
            raise ValueError(f"lighting must be one of {', '.join(LIGHTING_TEXT)}")
        references = tuple(str(r) for r in data["references"])
        if not 1 <= len(references) <= MAX_REFERENCES:
            raise ValueError(f"references must name 1 to {MAX_REFERENCES} selfies")
        return cls(index=int(data["index"]), seed=int(data["seed"]) % 2**32, attire=str(data["attire"]),
                   lighting=str(data["lighting"]), framing=str(data["framing"]), pose=pose, references=references,
                   style_reference=bool(data.get("style_reference", False)),
                   keep_face=max(0, int(data.get("keep_face", 0))))


def hex_colours(brand: BrandSpec) -> dict[str, str | None]:
    """The kit's colours as the instruction writes them (#RRGGBB, upper case)."""
    background = brand.background
    return {"backdrop": background.color.upper(),
            "backdrop_to": background.color_to.upper() if background.kind == "gradient" and background.color_to
            else None,
            "attire": brand.attire_color.color.upper() if brand.attire_color.color else None}


def compile_instruction(brand: BrandSpec, variant: KleinVariant) -> str:
    """The brand kit and one variant as the editing instruction the model follows."""
    colours = hex_colours(brand)
    framing = framing_for(variant.framing, brand.framing)
    count = len(variant.references)
    which = "reference image 1" if count == 1 else f"reference images 1 to {count}"
    attire = variant.attire
    if colours["attire"]:
        attire = f"{attire}, main garment in {colours['attire']}"
    backdrop = f"a plain seamless studio backdrop in {colours['backdrop']}"
    if colours["backdrop_to"]:
        backdrop += f", a smooth vertical gradient to {colours['backdrop_to']} at the bottom"
    parts = [
        f"Re-photograph the person shown in {which} as a professional corporate headshot taken in a photo studio.",
        f"Framing: {FRAMING_TEXT[variant.framing].format(eye=framing.eye_line, head=framing.head_height)}.",
        f"Attire: {attire}.",
        f"Lighting: {LIGHTING_TEXT.get(variant.lighting, variant.lighting)}.",
        f"Pose: {POSES[variant.pose]}.",
        f"Expression: {brand.expression}.",
        f"Background: {backdrop}, nothing else in the background.",
        KEEP_FACE,
        *KEEP_FACE_STRONGER[:variant.keep_face],
    ]
    if variant.style_reference:
        parts.append(STYLE_REFERENCE.format(n=count + 1))
    return " ".join(parts)


def plan_grid(brand: BrandSpec, count: int) -> list[tuple[str, str, str, int]]:
    """`count` (attire, lighting, framing, pose) combinations that differ as much as possible from each other.

    Greedy farthest-point selection on the number of axes two combinations differ in: every next variant differs
    most from its nearest already chosen one, ties going to the least used values, so each axis value is used
    before values repeat and no two variants are the same while the grid has room.
    """
    grid = list(product(brand.attires, brand.lightings, brand.variant_framings, range(len(POSES))))
    chosen: list[tuple[str, str, str, int]] = []
    nearest = [4] * len(grid)
    used: list[dict[Any, int]] = [{}, {}, {}, {}]
    while len(chosen) < count:
        if max(nearest) == 0:  # the grid is exhausted: start over (different seeds still make different images)
            nearest = [4] * len(grid)
        # Ties go to the combination whose values were used least so far, then to grid order.
        best = max(range(len(grid)), key=lambda i: (
            nearest[i], -sum(used[axis].get(value, 0) for axis, value in enumerate(grid[i])), -i))
        pick = grid[best]
        chosen.append(pick)
        for axis, value in enumerate(pick):
            used[axis][value] = used[axis].get(value, 0) + 1
        nearest = [min(n, _differences(pick, g)) for n, g in zip(nearest, grid, strict=True)]
    return chosen


def _differences(a: tuple, b: tuple) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


# -- references ---------------------------------------------------------------------------------------------------


def pick_references(scored: Sequence[tuple[str, float, float]], limit: int) -> list[str]:
    """Up to `limit` selfie names from (name, quality score, yaw): the best first, then each next one adds the most
    quality plus pose spread (its yaw away from the nearest chosen), so the model sees the face from more sides."""
    remaining = list(scored)
    if not remaining or limit < 1:
        return []
    first = max(remaining, key=lambda s: s[1])
    chosen = [first]
    remaining.remove(first)
    while remaining and len(chosen) < limit:
        def gain(item: tuple[str, float, float]) -> float:
            spread = min(abs(item[2] - c[2]) for c in chosen)
            return item[1] + 2.0 * min(spread, 0.5)  # yaw in eye distances; beyond half, more turn adds nothing

        best = max(remaining, key=gain)
        chosen.append(best)
        remaining.remove(best)
    return [name for name, _, _ in chosen]


# -- the copy-paste guard ---------------------------------------------------------------------------------------


def aligned_face(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The face as a grey ALIGNED_FACE crop with the eyes at fixed points, as standardised pixel ranks."""
    width, height = ALIGNED_FACE
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    source = np.float32([[lx, ly], [rx, ry]])
    gap = _EYE_GAP * width
    target = np.float32([[(width - gap) / 2, _EYE_Y * height], [(width + gap) / 2, _EYE_Y * height]])
    matrix, _ = cv2.estimateAffinePartial2D(source, target)
    if matrix is None:  # two points always give a similarity unless the eyes coincide
        matrix = np.float32([[1, 0, 0], [0, 1, 0]])
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    crop = cv2.warpAffine(grey, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    # Ranks, not values: a grade, an exposure or a contrast curve (any monotonic tone change) leaves them as they
    # were, so only a change of the face itself (light direction, pose, expression) lowers the correlation.
    ranks = np.argsort(np.argsort(crop.ravel(), kind="stable"), kind="stable").astype(np.float32).reshape(crop.shape)
    ranks -= ranks.mean()
    return ranks / max(float(ranks.std()), 1e-6)


def face_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two aligned faces: 1 = the same pixels up to exposure and contrast."""
    return float(np.mean(a * b))


def copy_paste_check(output_face: np.ndarray, references: Mapping[str, np.ndarray],
                     limit: float = MAX_FACE_CORRELATION) -> tuple[dict[str, Any], bool]:
    """Scores of the guard and whether it fails: the output's face must not be one of the references' faces."""
    if not references:
        return {"copy_paste": "unavailable: no reference face to compare"}, False
    correlations = {name: round(face_correlation(output_face, ref), 4) for name, ref in references.items()}
    nearest = max(correlations, key=correlations.get)
    return {"face_correlation_max": correlations[nearest], "face_correlation_nearest": nearest,
            "face_correlation_limit": limit}, correlations[nearest] >= limit


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



# -- one model call ---------------------------------------------------------------------------------------------


def prompt_embeddings(components: KleinComponents, prompt: str) -> Any:
    """The instruction's text embedding, from the cache when this kit's prompt was encoded before."""
    cache = components.prompt_cache
    if prompt in cache:
        cache.move_to_end(prompt)
        components.prompt_cache_hits += 1
        return cache[prompt]
    pipe, config = components.pipe, components.config
    # Encoded alone, never in a batch: the embedding is the same whichever variants share the call.
    embeds, _ = pipe.encode_prompt(prompt=prompt, device=pipe._execution_device, num_images_per_prompt=1,
                                   max_sequence_length=config.max_sequence_length,
                                   text_encoder_out_layers=tuple(config.text_encoder_out_layers))
    cache[prompt] = embeds
    if len(cache) > _PROMPT_CACHE_SIZE:
        cache.popitem(last=False)
    return embeds


def generate(components: KleinComponents, *, references: Sequence[np.ndarray], prompts: Sequence[str],
             seeds: Sequence[int], size: tuple[int, int]) -> list[np.ndarray]:
    """One batched model call: the same references, one prompt and seed per image; uint8 images of `size`."""
    if not references or len(references) > MAX_REFERENCES + 1:
        raise ValueError(f"a call takes 1 to {MAX_REFERENCES + 1} reference images")
    if len(prompts) != len(seeds) or not prompts:
        raise ValueError("one seed per prompt, at least one prompt")
    pipe, config = components.pipe, components.config
    width, height = size
    embeds = torch.cat([prompt_embeddings(components, p) for p in prompts])
    # One generator per image: each variant's starting noise depends on its own seed only.
    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    result = pipe(image=[Image.fromarray(_reference_size(r, size)) for r in references], prompt_embeds=embeds,
                  height=height, width=width, num_inference_steps=config.steps, guidance_scale=1.0,
                  generator=generators, output_type="np", max_sequence_length=config.max_sequence_length,
                  text_encoder_out_layers=tuple(config.text_encoder_out_layers))
    return [np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8) for image in result.images]


def _reference_size(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A reference no larger than the generation's area (more pixels cost attention, add no identity), at least
    64 px on its short side (the pipeline's minimum)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, math.sqrt(size[0] * size[1] / float(width * height)))
    scale = max(scale, 64.0 / min(width, height))
    if abs(scale - 1.0) < 1e-6:
        return rgb
    target = (max(64, round(width * scale)), max(64, round(height * scale)))
    return cv2.resize(rgb, target, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
