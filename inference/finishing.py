"""Finisher: every finishing stage in order, from an accepted selfie to the composited master at the output size."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .attire import AttireInput, recolor_attire
from .background import apply_light_falloff, composite, estimate_foreground, halo_score, render_background
from .brand import Attire, Background, ColorGrade, Framing, Retouch
from .color import DEFAULT_FACE_LUMA, grade, match_colour_cast, normalize_face_exposure, white_balance
from .face_detect import Face
from .face_mesh import FaceMesh, FaceMesher
from .framing import (
    FramedPortrait,
    FramingChoice,
    FramingPlan,
    choose_framing,
    frame_subject,
    output_size,
    plan_framing,
    resize_plan,
)
from .framing_qc import hard_edge_score, invented_body_share
from .lighting import LightingInput, relight
from .retouch import RetouchInput, retouch
from .segmentation import PersonSegmenter, keep_attached, refine_edges
from .upscale import upscale

# Per-pixel work before the upscale (matte refinement, mesh, retouch, white balance) runs on a frame whose long
# side is the source's own resolution for that framing (no invented detail to process), but at least this: the
# face mesh and retouching need ~250 px across the face, and a 150 px selfie chip must not be worked on at 150.
MIN_WORK_LONG_SIDE = 768
# How far the subject's colour balance moves toward the backdrop's (light bounced off a wall tints people).
# 0.3 is the contract's default: visible on a saturated brand colour, never a dyed face.
COLOUR_CAST_STRENGTH = 0.3
# Without a mesh the face box is estimated from the plan: half-width and the chin drop below the eye line as
# fractions of the head height (the 3.8 eye distances of framing.HEAD_HEIGHT_PER_EYE_DISTANCE).
_BOX_HALF_WIDTH = 0.33
_BOX_CHIN_DROP = 0.45
_BOX_BROW_RISE = 0.3


@dataclass(frozen=True)
class SubjectInput:
    rgb: np.ndarray            # decoded selfie, uint8 RGB (ingest's working copy)
    face: Face                 # dlib face in rgb's coordinates
    framing: Framing           # the brand's, or a variant's (close-up, square avatar...)
    retouch: Retouch
    long_side: int = 2048      # long side of the finished master
    team_face_luma: float | None = None   # shared face exposure target for the whole team; None = default
    # The whole selfie's MODNet matte from Finisher.selfie_matte (float32 0..1, rgb's height and width), computed
    # once per selfie and reused by every framing; None = computed here, on the part this framing shows.
    source_matte: np.ndarray | None = None

    def check(self) -> None:
        if not isinstance(self.rgb, np.ndarray) or self.rgb.dtype != np.uint8 or self.rgb.ndim != 3 \
                or self.rgb.shape[2] != 3:
            raise ValueError("SubjectInput.rgb must be an H x W x 3 uint8 array")
        if not isinstance(self.face, Face):
            raise ValueError("SubjectInput.face must be a face_detect.Face")
        self.framing.check()
        self.retouch.check()
        if not isinstance(self.long_side, int) or not 64 <= self.long_side <= 4096:
            raise ValueError("SubjectInput.long_side must be a whole number of pixels from 64 to 4096")
        if self.team_face_luma is not None and not 0.0 < self.team_face_luma < 100.0:
            raise ValueError("SubjectInput.team_face_luma must be an L* value between 0 and 100")
        if self.source_matte is not None and (
                not isinstance(self.source_matte, np.ndarray) or self.source_matte.dtype != np.float32
                or self.source_matte.shape != self.rgb.shape[:2]):
            raise ValueError("SubjectInput.source_matte must be a float32 array of rgb's height and width")


@dataclass(frozen=True)
class FramedSubject:
    """The subject on the working frame, as retouch and white balance receive it (Finisher.frame)."""

    rgb: np.ndarray            # framed at the working size, subject colours cleaned at the matte edge
    matte: np.ndarray          # float32 0..1, edge-refined, only what is attached to the face
    mesh: FaceMesh | None      # found on rgb
    framed: FramedPortrait     # the warp itself: its `inside` says which pixels were photographed
    choice: FramingChoice      # the framing at the output size (tightened where the selfie's edge showed)
    work_plan: FramingPlan     # the same framing at the working size
    size: tuple[int, int]      # output (width, height)
    source_matte: np.ndarray   # the whole selfie's person matte
    matte_model: str           # "modnet" or "mediapipe"


@dataclass(frozen=True)
class PreparedSubject:
    rgb: np.ndarray            # framed subject at the OUTPUT size, retouched, white-balanced, face exposure normalised
    matte: np.ndarray          # float32 0..1 at the output size, edge-refined, softly faded where the selfie ends
    mesh: FaceMesh | None      # in output coordinates
    plan: FramingPlan
    params: dict               # JSON-safe parameters of every stage so far
    measurements: dict


@dataclass(frozen=True)
class LookInput:
    background: Background
    lighting: str              # preset name: "soft" | "studio" | "dramatic" | "natural"
    color_grade: ColorGrade
    attire: Attire

    def check(self) -> None:
        self.background.check()
        self.color_grade.check()
        self.attire.check()


@dataclass(frozen=True)
class FinishedHeadshot:
    rgb: np.ndarray            # final composite, uint8, long side = SubjectInput.long_side
    matte: np.ndarray
    mesh: FaceMesh | None
    plan: FramingPlan
    params: dict
    measurements: dict


def _no_clock(name: str) -> None:
    """Finisher.frame()'s clock when nobody times it."""


class _StageClock:
    """Milliseconds per stage: each call records the time since the previous call under the stage's name."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.ms[name] = round(1000.0 * (now - self._clock), 1)
        self._clock = now


class Finisher:
    """Holds the models (loaded once by the caller); prepare() once per selfie and framing, render() per look."""

    def __init__(self, *, segmenter: PersonSegmenter, mesher: FaceMesher) -> None:
        self.segmenter = segmenter
        self.mesher = mesher

    def prepare(self, inp: SubjectInput) -> PreparedSubject:
        """Framing -> matte -> mesh -> retouch -> white balance + face exposure -> upscale to the output size.

        Everything per-pixel runs on a working frame at the selfie's own resolution for this framing, and one
        upscale at the end brings image and matte to the output size: 2-4x fewer pixels for retouch and white
        balance, and one resampling of the photo instead of a warp to 2048 px followed by work on invented pixels.
        """
        inp.check()
        lap = _StageClock()
        timings = lap.ms

        subject = self.frame(inp, lap)
        rgb, matte, mesh, choice = subject.rgb, subject.matte, subject.mesh, subject.choice
        work_plan, plan, size = subject.work_plan, subject.choice.plan, subject.size
        work_size = (work_plan.frame_width, work_plan.frame_height)
        touched = retouch(RetouchInput(rgb=rgb, mesh=mesh, matte=matte, strength=inp.retouch.strength,
                                       min_texture_share=inp.retouch.min_texture_share))
        lap("retouch")
        balanced, balance_params = white_balance(touched.rgb, matte, mesh)
        target = DEFAULT_FACE_LUMA if inp.team_face_luma is None else float(inp.team_face_luma)
        exposed, exposure_params = normalize_face_exposure(balanced, mesh, target)
        lap("white_balance_exposure")
        enlarged = upscale(exposed, size, matte)
        assert enlarged.matte is not None
        factor = size[1] / work_size[1]
        out_mesh = None if mesh is None else FaceMesh(points=(mesh.points * np.float32(factor)).astype(np.float32))
        lap("upscale")
        edge = hard_edge_score(matte, subject.source_matte, work_plan)
        smear = invented_body_share(matte, subject.framed.inside)
        lap("measure")
        params = {
            "framing": {**plan.as_params(), "requested_head_height": inp.framing.head_height,
                        "tighten_factor": round(choice.tighten, 4)},
            "working_size": list(work_size),
            "matte_model": subject.matte_model,
            "retouch": _json_safe(touched.params),
            "white_balance": _json_safe(balance_params),
            "face_exposure": _json_safe(exposure_params),
            "upscale": enlarged.params,
        }
        measurements = {
            **choice.as_measurements(),
            "hard_edge": round(edge, 4),
            # Share of the person shown that was invented below/beside the photo (framing_qc.invented_body_share).
            "invented_body_share": round(smear, 4),
            "texture_share": round(float(touched.texture_share), 4),
            "face_luma_gain": exposure_params.get("gain_ev"),
            "face_mesh_found": mesh is not None,
            "timings_ms": timings,
        }
        return PreparedSubject(rgb=enlarged.rgb, matte=enlarged.matte, mesh=out_mesh, plan=plan, params=params,
                               measurements=measurements)

    def frame(self, inp: SubjectInput, lap: Callable[[str], None] | None = None) -> FramedSubject:
        """prepare()'s first stages: person matte -> framing (choose_framing, frame_subject at the working size) ->
        matte refinement -> face mesh. What retouch and white balance then work on; `lap` times each stage."""
        lap = lap or _no_clock
        size = output_size(inp.framing, inp.long_side)
        if inp.source_matte is not None:
            source_matte, matte_model = inp.source_matte, "modnet"
        else:
            source_matte, matte_model = self._source_matte(inp.rgb, inp.face, plan_framing(inp.face, inp.framing, size))
        lap("segmentation")
        choice = choose_framing(inp.face, inp.framing, size, source_matte)
        # Work at the source's resolution for this framing: output / scale, within [MIN_WORK_LONG_SIDE, output].
        scale = choice.plan.scale
        work_long = int(round(min(inp.long_side, max(MIN_WORK_LONG_SIDE, inp.long_side / max(scale, 1e-6)))))
        work_plan = resize_plan(choice.plan, output_size(inp.framing, work_long))
        framed = frame_subject(inp.rgb, source_matte, work_plan)
        lap("framing")
        matte = refine_edges(framed.rgb, framed.matte, framed.inside)
        # Soft islands left by refinement or the body extension (a glow above the head, a neighbour's remnant) are
        # no part of the employee: only what is attached to the face stays, and "nobody" is exactly 0.
        matte = keep_attached(matte, face_box_from_plan(work_plan))
        # The old background's colour mixed into the soft edge (spill) would ride along onto the new backdrop.
        rgb = estimate_foreground(framed.rgb, matte)
        lap("matte_refinement")
        mesh = self.mesher.detect(rgb)
        lap("face_mesh")
        return FramedSubject(rgb=rgb, matte=matte, mesh=mesh, framed=framed, choice=choice, work_plan=work_plan,
                             size=size, source_matte=source_matte, matte_model=matte_model)

    def render(self, subject: PreparedSubject, look: LookInput) -> FinishedHeadshot:
        """Attire colour -> relight -> brand grade -> backdrop (light falloff, subject cast matched) -> composite."""
        look.check()
        lap = _StageClock()
        timings = lap.ms

        height, width = subject.matte.shape
        dressed = recolor_attire(AttireInput(rgb=subject.rgb, matte=subject.matte, mesh=subject.mesh,
                                             face_box=face_box_from_plan(subject.plan), attire=look.attire))
        lap("attire")
        lit = relight(LightingInput(rgb=dressed.rgb, matte=subject.matte, mesh=subject.mesh, preset=look.lighting))
        lap("relight")
        graded = grade(lit.rgb, look.color_grade)
        lap("grade")
        backdrop = apply_light_falloff(render_background(look.background, width, height), lit.background_gain)
        lap("background")
        person = match_colour_cast(graded, subject.matte, backdrop, COLOUR_CAST_STRENGTH)
        lap("colour_cast")
        out = composite(person, subject.matte, backdrop)
        lap("composite")
        halo = halo_score(out, subject.matte, backdrop)
        lap("measure")
        params = {
            **subject.params,
            "attire": _json_safe(dressed.params),
            "lighting": _json_safe(lit.params),
            "color_grade": {"temperature": look.color_grade.temperature, "saturation": look.color_grade.saturation,
                            "contrast": look.color_grade.contrast},
            "background": {"kind": look.background.kind, "color": look.background.color,
                           "color_to": look.background.color_to, "image_path": look.background.image_path,
                           "colour_cast_strength": COLOUR_CAST_STRENGTH},
        }
        measurements = {
            **{k: v for k, v in subject.measurements.items() if k != "timings_ms"},
            "halo": round(halo, 4),
            "background_gain_range": [round(float(lit.background_gain.min()), 4),
                                      round(float(lit.background_gain.max()), 4)],
            "timings_ms": {"prepare": subject.measurements.get("timings_ms", {}), "render": timings},
        }
        return FinishedHeadshot(rgb=out, matte=subject.matte, mesh=subject.mesh, plan=subject.plan, params=params,
                                measurements=measurements)

    def selfie_matte(self, rgb: np.ndarray, face: Face) -> np.ndarray | None:
        """The whole selfie's MODNet matte, for SubjectInput.source_matte: one ~0.3 s inference per selfie serves
        every framing. None with mediapipe, whose 256 px mask needs each framing's own crop to resolve hair, and
        when MODNet failed its check against mediapipe (segmentation.portrait_loss)."""
        if self.segmenter.portrait is None:
            return None
        return self.segmenter.portrait_matte(rgb, face)

    def _source_matte(self, rgb: np.ndarray, face: Face, plan: FramingPlan) -> tuple[np.ndarray, str]:
        """Person matte of the whole selfie, computed on the part the brand framing can show (tighter plans show
        less of it), and which model made it. mediapipe's 256 px model sees a head-and-shoulders crop, which is
        what it was trained on."""
        height, width = rgb.shape[:2]
        left, top, right, bottom = plan.source_region(width, height)
        matte = np.zeros((height, width), dtype=np.float32)
        if right - left < 2 or bottom - top < 2:
            return matte, self.segmenter.source
        crop, local = rgb[top:bottom, left:right], face.translated(-left, -top)
        found = self.segmenter.portrait_matte(crop, local) if self.segmenter.portrait is not None else None
        matte[top:bottom, left:right] = found if found is not None else self.segmenter.mediapipe_matte(crop, local)
        return matte, "modnet" if found is not None else "mediapipe"


def face_box_from_plan(plan: FramingPlan) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the face in frame pixels, from where the plan put the eyes and the head size."""
    head = plan.scale * plan.head_height_source
    x, y = plan.eye_target
    return (x - _BOX_HALF_WIDTH * head, y - _BOX_BROW_RISE * head, x + _BOX_HALF_WIDTH * head,
            y + _BOX_CHIN_DROP * head)


def _json_safe(value: Any) -> Any:
    """Plain JSON types only (numpy scalars and arrays from the stages become floats and lists)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
