"""DiffusionBackend: identity-conditioned SDXL headshots with the studio backend's selfie QC, output QC and
interface."""
from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..background import composite, render_background
from ..color import grade
from ..errors import InputError
from ..face_detect import prominent_faces
from ..face_mesh import CHIN, NOSE_TIP, FaceMesh
from ..finishing import SubjectInput
from ..identity import distance_to_profile
from ..output_qc import OutputQCInput, assess_output, clipped_fractions, skin_reference
from ..ranking import RankingModel, rank_entries
from ..request import GenerationInput, GenerationOutput, HeadshotOutput
from . import conditioning
from .components import Components, DiffusionConfig, DiffusionPass, load_components, run_pass, use_kit_lora
from .face_encoder import DlibFaceEncoder, choose_encoders
from .studio_backed import StudioBackedBackend, StudioBackedRun

logger = logging.getLogger(__name__)

BACKEND = "diffusion"
BACKEND_VERSION = "1"
PORTRAIT_PROMPT = ("professional corporate headshot photo of a person, {attire}, {lighting} studio lighting, "
                   "sharp focus, natural skin texture, plain background")
ATTIRE_PROMPT = "{attire}, neat, well-fitted, professional clothing, photo"
NEGATIVE_PROMPT = "cartoon, painting, deformed face, extra people, text, watermark, logo, nsfw, revealing clothes"
# Without a face mesh the chin is this many head heights below the eye line (the eyes sit ~45 % down the head).
CHIN_BELOW_EYES = 0.55
# Regeneration: each retry takes a new seed, leans harder on the identity adapter and keeps more of the selfie.
IDENTITY_SCALE_STEP, MAX_IDENTITY_SCALE = 0.15, 1.2
STRENGTH_STEP, MIN_PORTRAIT_STRENGTH = 0.15, 0.45
LANDMARK_SCALE_STEP, MAX_CONTROL_SCALE = 0.15, 1.5
_SEED_MULTIPLIER = 1103515245  # LCG step: the next seed is a fixed function of the last, so retries reproduce
_IDENTITY_FAILURES = {"identity", "nearer_to_other", "identity_unverified"}


@dataclass(frozen=True)
class VariantParams:
    """What makes one diffusion headshot; with the request's selfies, brand and the same store, it remakes it."""

    source: str
    index: int
    seed: int
    identity_scale: float
    portrait_strength: float
    control_scales: tuple[float, ...]

    @property
    def name(self) -> str:
        return f"dx-v{self.index}-{self.seed:08x}"

    def as_params(self) -> dict[str, Any]:
        return {"backend": BACKEND, "source": self.source, "index": self.index, "seed": self.seed,
                "identity_scale": self.identity_scale, "portrait_strength": self.portrait_strength,
                "control_scales": list(self.control_scales)}

    @classmethod
    def from_params(cls, data: Mapping[str, Any]) -> VariantParams:
        if data.get("backend") != BACKEND:
            raise ValueError("not a diffusion variant (params['backend'] must be 'diffusion')")
        return cls(source=str(data["source"]), index=int(data["index"]), seed=int(data["seed"]) % 2**32,
                   identity_scale=float(data["identity_scale"]), portrait_strength=float(data["portrait_strength"]),
                   control_scales=tuple(float(v) for v in data["control_scales"]))


@dataclass
class Rendered:
    rgb: np.ndarray
    matte: np.ndarray
    params: dict[str, Any]
    generated: np.ndarray            # the raw diffusion output at the generation size, for inspection


class DiffusionBackend(StudioBackedBackend):
    """Loads the studio models and the diffusion components once; run() has HeadshotPipeline.run()'s contract."""

    BACKEND = BACKEND

    def __init__(self, config: DiffusionConfig, *, pipeline: Any = None, components: Components | None = None) -> None:
        self.config = config.check()
        super().__init__(pipeline)
        self.components = components or load_components(config)
        self.encoders = choose_encoders(self.components.store, self.studio.faces, preference=config.face_encoder,
                                        arcface_model=config.arcface_model)
        if config.face_mode == "generate" and self.components.identity_dim != self.encoders.conditioning.dim:
            raise ValueError(f"the identity adapter takes {self.components.identity_dim}-d embeddings but the "
                             f"conditioning encoder {self.encoders.conditioning.name} gives "
                             f"{self.encoders.conditioning.dim}-d ones")

    def run(self, request: GenerationInput) -> GenerationOutput:
        """Ranked, QC'd diffusion headshots of the person in the accepted selfies; failed ones are regenerated."""
        self.check(request)
        names = {s.name for s in request.selfies}
        reproduce = []
        for position, params in enumerate(request.reproduce):
            try:
                spec = VariantParams.from_params(params)
            except (KeyError, ValueError, TypeError) as exc:
                raise InputError(f"reproduce[{position}] is invalid: {exc}") from None
            if spec.source not in names:
                raise InputError(f"reproduce[{position}] names selfie {spec.source!r}, which is not in this request")
            reproduce.append(spec)
        verdicts, usable = self.inspect(request)
        if not usable:
            return GenerationOutput(selfies=verdicts, headshots=())
        use_kit_lora(self.components, request.brand.name)
        person = _DiffusionRun(self, request, usable)
        headshots = person.generate(tuple(reproduce))
        self.last_timings = dict(person.timings)
        return GenerationOutput(selfies=verdicts, headshots=headshots)


class _DiffusionRun(StudioBackedRun):
    def __init__(self, backend: DiffusionBackend, request: GenerationInput, usable: list) -> None:
        super().__init__(backend, request, usable)
        ranked = sorted(usable, key=lambda i: (-self.source_quality[i.verdict.name]["score"],
                                               self.positions[i.verdict.name]))
        self.sources = [i.verdict.name for i in ranked[: self.brand.variant_sources]]
        encoders = backend.encoders
        self.conditioning_vector = None
        if self.config.face_mode == "generate":
            self.conditioning_vector = _centre(encoders.conditioning, [
                encoders.conditioning.embed(i.image.rgb, i.face) for i in usable])
        # Identity is judged by a different encoder than the one that conditioned generation (None: none is).
        # In "keep" mode no encoder conditions generation, so the studio's dlib judge is independent.
        self.judge = DlibFaceEncoder(backend.studio.faces) if self.config.face_mode == "keep" else encoders.judge
        self.judge_profile = None
        if self.judge is not None and not isinstance(self.judge, DlibFaceEncoder):
            self.judge_profile = _centre(self.judge, [self.judge.embed(i.image.rgb, i.face) for i in usable])
        self._prepared: dict[str, Any] = {}

    # -- variants and regeneration -----------------------------------------------------------------------------

    def generate(self, reproduce: tuple[VariantParams, ...]) -> tuple[HeadshotOutput, ...]:
        if reproduce:
            specs, tries = list(reproduce), 0  # a reproduction is exactly what was asked for, pass or fail
        else:
            count = min(self.brand.variants_per_person, self.config.max_variants)
            specs = [self._initial(i) for i in range(count)]
            tries = self.brand.regeneration_tries
        headshots = [self._make(spec, tries) for spec in specs]
        model = RankingModel.from_dict(self.request.ranking)
        entries = [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed} for h in headshots]
        return tuple(dataclasses.replace(headshots[r.index], rank=r.rank, ranking_score=r.score)
                     for r in rank_entries(entries, model))

    def _initial(self, index: int) -> VariantParams:
        source = self.sources[index % len(self.sources)]
        seed = (self.request.seed + zlib.crc32(f"diffusion-{index}-{source}".encode())) % 2**32
        return VariantParams(source=source, index=index, seed=seed, identity_scale=self.config.identity_scale,
                             portrait_strength=self.config.portrait_strength,
                             control_scales=tuple(self.config.control_scales))

    def _make(self, spec: VariantParams, tries: int) -> HeadshotOutput:
        attempts: list[dict[str, Any]] = []
        requested = spec
        while True:
            rendered = self._render(spec)
            started = time.perf_counter()
            scores, failures, embedding = self._qc(spec, rendered)
            self._time("output_qc", started)
            if not failures or len(attempts) >= tries:
                return self._output(requested, spec, rendered, scores, failures, embedding, attempts,
                                    source=spec.source)
            adjusted, change = self._adjust(spec, failures)
            attempts.append({"variant": spec.name, "params": spec.as_params(), "failures": list(failures),
                             "scores": {k: v for k, v in scores.items()
                                        if isinstance(v, (int, float)) and not isinstance(v, bool)},
                             "change": change})
            spec = adjusted

    def _adjust(self, spec: VariantParams, failures: list[str]) -> tuple[VariantParams, dict[str, Any]]:
        """A new seed always; identity failures lean on the adapter and the selfie, face-shape ones on landmarks."""
        change: dict[str, Any] = {"seed": [spec.seed, (spec.seed * _SEED_MULTIPLIER + 12345) % 2**32]}
        identity_scale, strength = spec.identity_scale, spec.portrait_strength
        scales = list(spec.control_scales)
        if _IDENTITY_FAILURES & set(failures) or "face_count" in failures:
            identity_scale = round(min(MAX_IDENTITY_SCALE, identity_scale + IDENTITY_SCALE_STEP), 4)
            strength = round(max(MIN_PORTRAIT_STRENGTH, strength - STRENGTH_STEP), 4)
            change["identity_scale"] = [spec.identity_scale, identity_scale]
            change["portrait_strength"] = [spec.portrait_strength, strength]
        if {"face_count", "eye_line"} & set(failures) and "landmarks" in self.config.controls:
            at = self.config.controls.index("landmarks")
            scales[at] = round(min(MAX_CONTROL_SCALE, scales[at] + LANDMARK_SCALE_STEP), 4)
            change["control_scales"] = [list(spec.control_scales), scales]
        return dataclasses.replace(spec, seed=change["seed"][1], identity_scale=identity_scale,
                                   portrait_strength=strength, control_scales=tuple(scales)), change

    # -- rendering ------------------------------------------------------------------------------------------------

    def _prepare(self, source: str):
        if source not in self._prepared:
            item = self.items[source]
            started = time.perf_counter()
            self._prepared[source] = self.backend.studio.finisher.prepare(SubjectInput(
                rgb=item.image.rgb, face=item.face, framing=self.brand.framing, retouch=self.brand.retouch,
                long_side=self.config.generation_long_side))
            self._time("prepare", started)
        return self._prepared[source]

    def _render(self, spec: VariantParams) -> Rendered:
        prepared = self._prepare(spec.source)
        item = self.items[spec.source]
        multiple = self.components.size_multiple
        height, width = prepared.matte.shape
        size = (max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple))
        fx, fy = size[0] / width, size[1] / height
        rgb = cv2.resize(prepared.rgb, size, interpolation=cv2.INTER_AREA)
        matte = cv2.resize(prepared.matte, size, interpolation=cv2.INTER_AREA)
        geometry = _geometry(prepared, item.face, fx, fy)
        backdrop = render_background(self.brand.background, *size)
        start_image = composite(rgb, matte, backdrop)
        started = time.perf_counter()
        builders = {"landmarks": lambda: conditioning.landmark_image(geometry, size),
                    "depth": lambda: conditioning.depth_image(matte, geometry),
                    "canny": lambda: conditioning.canny_image(rgb, matte)}
        controls = tuple(builders[kind]() for kind in self.config.controls)
        self._time("conditioning", started)
        paint = conditioning.person_mask(matte)
        identity = None
        if self.config.face_mode == "keep":
            paint = np.clip(paint - conditioning.face_mask(geometry, size), 0.0, 1.0)
        else:
            identity = self.conditioning_vector
        attire, lighting = self.brand.attire, self.brand.lighting
        passes = [DiffusionPass(
            prompt=PORTRAIT_PROMPT.format(attire=attire, lighting=lighting), negative_prompt=NEGATIVE_PROMPT,
            image=start_image, mask=paint, controls=controls, control_scales=spec.control_scales, seed=spec.seed,
            steps=self.components.steps, guidance_scale=self.components.guidance_scale,
            strength=spec.portrait_strength, identity=identity,
            identity_scale=spec.identity_scale if identity is not None else 0.0)]
        started = time.perf_counter()
        generated = _paste(run_pass(self.components.pipe, passes[0], device=self.config.device), start_image, paint)
        if self.config.attire_pass:
            clothes = conditioning.clothing_mask(matte, geometry)
            passes.append(dataclasses.replace(
                passes[0], prompt=ATTIRE_PROMPT.format(attire=attire), image=generated, mask=clothes,
                seed=(spec.seed + 1) % 2**32, strength=self.config.attire_strength))
            generated = _paste(run_pass(self.components.pipe, passes[1], device=self.config.device), generated,
                               clothes)
        self._time("diffusion", started)
        # The person's outline after diffusion: segmentation of the new picture inside the painted area, the
        # selfie's matte outside it (nothing there was repainted).
        started = time.perf_counter()
        new_matte = self.backend.studio.segmenter.matte(generated, None)
        final_matte = np.clip(new_matte * paint + matte * (1.0 - paint), 0.0, 1.0).astype(np.float32)
        out_width = max(self.brand.output_sizes)
        out_size = (out_width, max(1, round(out_width / self.brand.framing.aspect)))
        enlarged = self.components.upscaler.enlarge(generated, out_size, final_matte)
        out_matte = enlarged.matte if enlarged.matte is not None else cv2.resize(final_matte, out_size)
        # Grade the person, then composite onto the brand backdrop rendered at the output size: every pixel with
        # matte 0 is exactly the brand's background.
        person = grade(enlarged.rgb, self.brand.color_grade)
        final = composite(person, out_matte, render_background(self.brand.background, *out_size))
        self._time("finish", started)
        params = {
            "backend": BACKEND, "backend_version": BACKEND_VERSION, "seed": spec.seed, "variant": spec.name,
            "variant_spec": spec.as_params(), "brand": {"name": self.brand.name, "version": self.brand.version},
            "framing": prepared.plan.as_params(), "background_spec": dataclasses.asdict(self.brand.background),
            "attire": attire, "lighting": lighting, "face_mode": self.config.face_mode,
            "generation_size": list(size), "output_size": list(out_size),
            "passes": [p.as_params() for p in passes], "controls": list(self.config.controls),
            "config": self.config.as_params(), "models": dict(self.components.models),
            "kit_lora": None if self.components.active_lora is None else list(self.components.active_lora),
            "encoders": {"conditioning": None if self.config.face_mode == "keep"
                         else self.backend.encoders.conditioning.name,
                         "identity_judge": self._judge_name()},
            "upscale": enlarged.params, "finishing": {"prepare": prepared.params},
            "depth_source": "pseudo-depth from the face mesh and the matte (conditioning.depth_image)",
        }
        return Rendered(rgb=final, matte=out_matte, params=params, generated=generated)

    # -- output QC ------------------------------------------------------------------------------------------------

    def _judge_name(self) -> str | None:
        return None if self.judge is None else self.judge.name

    def _qc(self, spec: VariantParams, rendered: Rendered) -> tuple[dict[str, Any], list[str], np.ndarray | None]:
        item = self.items[spec.source]
        studio = self.backend.studio
        qc = assess_output(studio.faces, OutputQCInput(
            rgb=rendered.rgb, profile_embedding=self.profile,
            profile_distance=lambda e: distance_to_profile(e, self.identity),
            source_embedding=item.embedding, source_skin=skin_reference(item.image.rgb, item.face),
            source_clipped=clipped_fractions(item.image.rgb, item.face.box), other_profiles=self.others,
            matte=rendered.matte, eye_line_target=self.brand.framing.eye_line), studio.qc_limits)
        scores, failures = dict(qc.scores), list(qc.failures)
        judge = self._judge_name()
        if judge == DlibFaceEncoder.name:
            scores["identity_judge"] = judge
        else:
            # dlib conditioned the generation: its distances are kept, labelled, and judge nothing.
            scores["identity_distance_conditioning_encoder"] = scores.pop("identity_distance", None)
            scores["identity_distance"] = None
            failures = [f for f in failures if f not in ("identity", "nearer_to_other")]
            faces = prominent_faces(studio.faces.detect(rendered.rgb))
            if self.judge is None:
                scores["identity_judge"] = "unavailable: " + self.backend.encoders.reason
                failures.append("identity_unverified")
            elif faces:
                distance = self.judge.distance(self.judge.embed(rendered.rgb, faces[0]), self.judge_profile)
                scores.update(identity_judge=self.judge.name, identity_distance=round(distance, 4),
                              identity_threshold=self.judge.same_person_distance)
                if not distance < self.judge.same_person_distance:
                    failures.append("identity")
        if scores.get("identity_distance") is None and "identity" not in failures \
                and "identity_unverified" not in failures:
            failures.append("identity")  # no face to compare: the person is not confirmed, so it fails
        scores["appropriateness"] = self._appropriateness(rendered.rgb)
        return scores, failures, qc.embedding



def _centre(encoder: Any, embeddings: list[np.ndarray]) -> np.ndarray:
    """The mean embedding (unit-normalised for cosine encoders such as ArcFace)."""
    mean = np.mean(np.stack(embeddings), axis=0)
    if not isinstance(encoder, DlibFaceEncoder):
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return mean


def _paste(painted: np.ndarray, original: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Only the masked area changes: the VAE round trip must not touch pixels the mask keeps."""
    weight = np.clip(mask, 0.0, 1.0)[..., None]
    return np.round(painted * weight + original * (1.0 - weight)).astype(np.uint8)


def _geometry(prepared: Any, face: Any, fx: float, fy: float) -> conditioning.FaceGeometry:
    """Face keypoints in generation pixels: the mesh when finishing found one, else dlib's points through the plan."""
    plan = prepared.plan
    head = plan.scale * plan.head_height_source * fy
    matrix = np.asarray(plan.matrix, np.float64)
    # prepared is at the output size of the plan, which may differ from the plan's frame; scale from frame pixels.
    sx = prepared.matte.shape[1] / plan.frame_width * fx
    sy = prepared.matte.shape[0] / plan.frame_height * fy

    def to_gen(point) -> tuple[float, float]:
        x, y = matrix @ np.array([point[0], point[1], 1.0])
        return float(x * sx), float(y * sy)

    mesh = None
    if prepared.mesh is not None:
        points = prepared.mesh.points.astype(np.float32).copy()
        points[:, 0] *= fx
        points[:, 1] *= fy
        mesh = FaceMesh(points=points)
    left, right, nose = to_gen(face.left_eye), to_gen(face.right_eye), to_gen(face.nose)
    if mesh is not None:
        left, right = mesh.iris_centres()
        nose = tuple(mesh.points[NOSE_TIP, :2])
        mouth = (tuple(mesh.points[61, :2]), tuple(mesh.points[291, :2]))  # mediapipe's mouth corners
        chin = float(mesh.points[CHIN, 1])
    else:
        eye_y = (left[1] + right[1]) / 2.0
        spread = abs(right[0] - left[0]) * 0.4
        mouth_y = nose[1] + 0.12 * head
        mouth = ((nose[0] - spread, mouth_y), (nose[0] + spread, mouth_y))
        chin = eye_y + CHIN_BELOW_EYES * head
    keypoints = np.array([left, right, nose, *mouth], dtype=np.float32)
    return conditioning.FaceGeometry(keypoints=keypoints, chin_y=chin, head_height=head, mesh=mesh)
