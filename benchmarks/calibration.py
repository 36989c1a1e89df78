"""Calibration and check of the older limits (issue 16), run by hand, not a test: `python benchmarks/calibration.py`.

Selfie QC's sharpness, noise, exposure, clipping, pose, eye and duplicate limits, framing's head-size ratios and
output QC's halo, edge-rim and face-L* limits were first set on every dev photo, the same photos the tests check.
Here each is measured per half of the dev people (benchmarks/dev_split.py): for every limit the calibration half's
figures, the rule that turns them into a limit, the value that rule gives, the value in the code, and the held-out
half's pass/fail counts at the code's value. The statistics are the code's own (selfie_qc.measure_selfie,
background.halo_score, output_qc.edge_rim / skin_reference) on the degraded copies the limits' comments name
(benchmarks/quality.py makes them: Gaussian blur sigma 3, -2 / +2 EV in linear light, noise sigma 10 / 20, each saved
as a q92 upload; near-duplicate copies; eyes painted shut; a light rim painted around the person).

Smallest run (a minute): `--per-person 1 --size 256`; sections with `--section selfie_qc|framing|outputs`.
"""
from __future__ import annotations

import argparse
import io
import itertools
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))

from benchmarks.dev_split import HALF_A, HALF_B  # noqa: E402  (after the path set-up above)
from benchmarks.quality import exposure, gaussian_blur, gaussian_noise, near_copies, to_upload  # noqa: E402
from inference import framing  # noqa: E402
from inference.background import apply_light_falloff, halo_score, render_background  # noqa: E402
from inference.brand import Attire, Background, ColorGrade, Framing, Retouch  # noqa: E402
from inference.face_detect import prominent_faces  # noqa: E402
from inference.ingest import decode_image  # noqa: E402
from inference.output_qc import (  # noqa: E402
    MAX_EDGE_RIM,
    MAX_FACE_L,
    MAX_HALO_SCORE,
    MIN_FACE_L,
    edge_rim,
    skin_reference,
)
from inference.selfie_set import MAX_DUPLICATE_EMBEDDING_DISTANCE, MAX_DUPLICATE_HASH_BITS, hash_distance  # noqa: E402

# The half each family of limits is set on; the other half is held out (dev_split.py).
CALIBRATION = {"selfie_qc": "A", "framing": "A", "outputs": "A"}
HALVES = {"A": HALF_A, "B": HALF_B}
# A rule's value, or the (low, high) bounds it puts on a limit that is otherwise a choice.
Limit = float | tuple[float, float] | None


@dataclass
class Measured:
    """Per half: statistic -> kind of photo -> values."""

    values: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)

    def add(self, half: str, key: str, kind: str, value: float | None) -> None:
        if value is not None:
            self.values.setdefault(half, {}).setdefault(key, {}).setdefault(kind, []).append(float(value))

    def get(self, half: str, key: str, kind: str) -> list[float]:
        return self.values.get(half, {}).get(key, {}).get(kind, [])


def span(values: Sequence[float]) -> str:
    return f"{min(values):.3g}..{max(values):.3g} (n={len(values)})" if values else "- (n=0)"


def report(name: str, current: float, family: str, measured: Measured, key: str, *, rule: str,
           limit: Callable[[Measured, str], Limit], passes: Callable[[float, float], bool],
           good: Sequence[str], bad: Sequence[str] = (), shown: Sequence[str] = ()) -> Limit:
    """One limit: the calibration half's figures, its rule and value, and the held-out half at `current`.
    limit: the rule's value, or (low, high) where the rule only bounds the limit (the rest is a choice the comment
    gives); good: kinds that must pass the limit; bad: kinds that must fail it; shown: reported only."""
    cal = CALIBRATION[family]
    held = "B" if cal == "A" else "A"
    proposed = limit(measured, cal)
    if proposed is None:
        gives = "n/a"
    elif isinstance(proposed, tuple):
        low, high = proposed
        inside = low <= current <= high
        gives = f"any value in {low:.4g}..{high:.4g} ({'the code is inside' if inside else 'THE CODE IS OUTSIDE'})"
    else:
        gives = f"{proposed:.4g}"
    print(f"{name}: set on half {cal}; in the code {current:g}; rule ({rule}) gives {gives}")
    kinds = list(dict.fromkeys([*good, *bad, *shown]))
    print(f"  half {cal} (calibration): " + "; ".join(f"{k} {span(measured.get(cal, key, k))}" for k in kinds))
    print(f"  half {held} (held out):   " + "; ".join(f"{k} {span(measured.get(held, key, k))}" for k in kinds))
    counts = []
    for kind in kinds:
        values = measured.get(held, key, kind)
        passed = sum(passes(v, current) for v in values)
        verb = "pass" if kind in good else "fail" if kind in bad else "pass (shown only)"
        hit = passed if kind in good or kind not in bad else len(values) - passed
        counts.append(f"{kind} {verb} {hit}/{len(values)}")
    print(f"  half {held} at {current:g}: " + ", ".join(counts))
    return proposed


def gap_middle(low: Sequence[float], high: Sequence[float], *, geometric: bool = False) -> float | None:
    """Middle of the gap between the largest of `low` and the smallest of `high` (None when either is empty)."""
    if not low or not high:
        return None
    a, b = max(low), min(high)
    return math.sqrt(a * b) if geometric and a > 0 and b > 0 else (a + b) / 2.0


# -- photos -----------------------------------------------------------------------------------------------------

def dev_photos(faces: Path, per_person: int | None) -> list[tuple[str, str, Path]]:
    """(half, person, path) for the full-size dev photos of both halves (the john_* chips belong to neither)."""
    photos = []
    for half, people in HALVES.items():
        for person in people:
            paths = sorted((faces / person).glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
            photos += [(half, person, p) for p in paths[:per_person]]
    return photos


def one_face_photos(pipeline, photos: Sequence[tuple[str, str, Path]], *,
                    say_left_out: bool = False) -> Iterator[tuple[str, str, Path, np.ndarray, Any]]:
    """(half, person, path, rgb, face) for each photo with exactly one prominent face; the others are left out."""
    for half, person, path in photos:
        rgb = decode_image(path.read_bytes(), pipeline.limits).rgb
        found = prominent_faces(pipeline.faces.detect(rgb))
        if len(found) == 1:
            yield half, person, path, rgb, found[0]
        elif say_left_out:
            print(f"  {person}/{path.name}: {len(found)} faces, left out")


def eyes_shut(rgb: np.ndarray, mesh, eye_distance: float) -> np.ndarray:
    """The eyes painted shut: lids inpainted from the skin around them, a lash line where they meet (the closed-eye
    test in tests/inference/test_selfie_qc.py paints them with this too)."""
    from inference.face_mesh import EYE_A_CONTOUR, EYE_B_CONTOUR  # lazy: mediapipe (heavy), not for --help

    mask = np.zeros(rgb.shape[:2], np.uint8)
    for contour in (EYE_A_CONTOUR, EYE_B_CONTOUR):
        cv2.fillPoly(mask, [np.round(mesh.xy(contour)).astype(np.int32)], 255)
    closed = cv2.inpaint(rgb, cv2.dilate(mask, np.ones((5, 5), np.uint8), iterations=2), 5, cv2.INPAINT_TELEA)
    for contour in (EYE_A_CONTOUR, EYE_B_CONTOUR):
        lower_lid = np.round(mesh.xy(contour)[:9]).astype(np.int32)
        cv2.polylines(closed, [lower_lid], False, (40, 30, 30), max(2, int(eye_distance / 40)), cv2.LINE_AA)
    return closed


def uploaded(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(to_upload(rgb))).convert("RGB"))


# -- selfie QC --------------------------------------------------------------------------------------------------

def selfie_qc_section(pipeline, photos) -> None:
    from inference import selfie_qc as qc  # lazy: mediapipe (heavy), not for --help

    print("== Selfie QC ==")
    measured = Measured()
    originals = {}  # name -> (half, person, phash, embedding)
    copies: dict[str, list[tuple[int, float]]] = {}  # half -> (hash bits, embedding distance) per near copy
    for half, person, path, rgb, face in one_face_photos(pipeline, photos, say_left_out=True):
        name = f"{person}/{path.name}"
        mesh = qc.face_mesh_on_face(pipeline.mesher, rgb, face)
        degraded = {
            "original": rgb, "blur_sigma3": gaussian_blur(rgb, 3.0), "minus_2ev": exposure(rgb, -2.0),
            "plus_2ev": exposure(rgb, 2.0), "blur_sigma2": gaussian_blur(rgb, 2.0),
            "noise_sigma10": gaussian_noise(rgb, 10.0), "noise_sigma20": gaussian_noise(rgb, 20.0),
        }
        if mesh is not None:
            degraded["eyes_shut"] = eyes_shut(rgb, mesh, face.eye_distance)
        for kind, image in degraded.items():
            image = rgb if kind == "original" else uploaded(image)  # the original is the upload itself
            faces = prominent_faces(pipeline.faces.detect(image))
            if len(faces) != 1:
                continue
            m = qc.measure_selfie(image, faces[0], qc.face_mesh_on_face(pipeline.mesher, image, faces[0]))
            for key in ("sharpness", "noise", "face_highlight", "image_highlight", "clipped_highlights",
                        "clipped_shadows", "yaw", "pitch", "roll"):
                measured.add(half, key, kind, getattr(m, key))
            if m.yaw is not None:
                measured.add(half, "abs_yaw", kind, abs(m.yaw))
                measured.add(half, "abs_roll", kind, abs(m.roll))
            if m.eye_openness is not None:
                measured.add(half, "eye_openness", kind, min(m.eye_openness))
            underexposed = m.face_highlight < qc.MIN_FACE_HIGHLIGHT and m.image_highlight < qc.MIN_IMAGE_HIGHLIGHT
            measured.add(half, "underexposed", kind, float(underexposed))
            if kind == "original":
                originals[name] = (half, person, m.phash, pipeline.faces.embed(image, faces[0]))
        if mesh is not None and measured.get(half, "abs_roll", "original"):
            # A 30 degree tilt away from the photo's own (the head_tilted case of benchmarks/quality.py).
            roll = measured.get(half, "roll", "original")[-1]
            matrix = cv2.getRotationMatrix2D((rgb.shape[1] / 2, rgb.shape[0] / 2), -30.0 if roll > 0 else 30.0, 1.0)
            tilted = uploaded(cv2.warpAffine(rgb, matrix, rgb.shape[1::-1], borderMode=cv2.BORDER_REFLECT))
            faces = prominent_faces(pipeline.faces.detect(tilted))
            if len(faces) == 1:
                tilted_mesh = qc.face_mesh_on_face(pipeline.mesher, tilted, faces[0])
                if tilted_mesh is not None:
                    measured.add(half, "abs_roll", "roll_30deg", abs(tilted_mesh.head_pose()[2]))
        grey_of = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # noqa: E731
        for copy in near_copies(rgb):
            faces = prominent_faces(pipeline.faces.detect(copy))
            if len(faces) == 1:
                bits = hash_distance(originals[name][2], qc.perceptual_hash(grey_of(copy), faces[0]))
                gap = float(np.linalg.norm(pipeline.faces.embed(copy, faces[0]) - originals[name][3]))
                copies.setdefault(half, []).append((bits, gap))

    at_least = lambda value, limit: value >= limit  # noqa: E731
    at_most = lambda value, limit: value <= limit  # noqa: E731
    print("(the kinds after the semicolons: values per kind of photo; 'pass' counts the photos the limit lets "
          "through, 'fail' the ones it stops)")
    report("MIN_SHARPNESS", qc.MIN_SHARPNESS, "selfie_qc", measured, "sharpness",
           rule="above the sharpest sigma-2 copy (so above every sigma-3 copy) and at most the least sharp original "
                "or -2 EV copy / 1.5; the sigma-3 gap's geometric middle alone is printed below",
           limit=lambda m, h: (max(m.get(h, "sharpness", "blur_sigma2")),
                               min(m.get(h, "sharpness", "original") + m.get(h, "sharpness", "minus_2ev")) / 1.5)
           if m.get(h, "sharpness", "blur_sigma2") and m.get(h, "sharpness", "original") else None,
           passes=at_least, good=("original", "minus_2ev"), bad=("blur_sigma3", "blur_sigma2"))
    for half in HALVES:
        middle = gap_middle(measured.get(half, "sharpness", "blur_sigma3"),
                            measured.get(half, "sharpness", "original") + measured.get(half, "sharpness", "minus_2ev"),
                            geometric=True)
        if middle is not None:
            print(f"  half {half}: geometric middle of the sigma-3 gap {middle:.4g}")
    report("MAX_NOISE", qc.MAX_NOISE, "selfie_qc", measured, "noise",
           rule="middle of the gap between the noisiest original and the least noisy sigma-20 copy",
           limit=lambda m, h: gap_middle(m.get(h, "noise", "original"), m.get(h, "noise", "noise_sigma20")),
           passes=at_most, good=("original",), bad=("noise_sigma20",), shown=("noise_sigma10",))
    for name, key in (("MIN_FACE_HIGHLIGHT", "face_highlight"), ("MIN_IMAGE_HIGHLIGHT", "image_highlight")):
        report(name, getattr(qc, name), "selfie_qc", measured, key,
               rule="middle of the gap between the brightest -2 EV copy and the darkest original",
               limit=lambda m, h, key=key: gap_middle(m.get(h, key, "minus_2ev"), m.get(h, key, "original")),
               passes=at_least, good=("original",), bad=("minus_2ev",))
    for half in HALVES:
        flagged = {kind: measured.get(half, "underexposed", kind) for kind in ("original", "minus_2ev")}
        print(f"  too_dark (both highlights under their limits), half {half}: originals "
              f"{sum(flagged['original']):.0f}/{len(flagged['original'])}, -2 EV copies "
              f"{sum(flagged['minus_2ev']):.0f}/{len(flagged['minus_2ev'])}")
    report("MAX_CLIPPED_HIGHLIGHTS", qc.MAX_CLIPPED_HIGHLIGHTS, "selfie_qc", measured, "clipped_highlights",
           rule="at least 10 x the originals' largest share and 1 % of the skin, at most the +2 EV copies' median "
                "(a dark face brightened 2 EV may clip nothing)",
           limit=lambda m, h: clipped_rule(m.get(h, "clipped_highlights", "original"),
                                           m.get(h, "clipped_highlights", "plus_2ev")),
           passes=at_most, good=("original",), bad=("plus_2ev",))
    report("MAX_CLIPPED_SHADOWS", qc.MAX_CLIPPED_SHADOWS, "selfie_qc", measured, "clipped_shadows",
           rule="at least 10 x the originals' largest share and 1 % of the skin; no dev copy bounds it from above "
                "(-2 EV copies clip little black: shown)",
           limit=lambda m, h: clipped_rule(m.get(h, "clipped_shadows", "original"), []),
           passes=at_most, good=("original",), shown=("minus_2ev",))
    report("MAX_ABS_YAW", qc.MAX_ABS_YAW, "selfie_qc", measured, "abs_yaw",
           rule="at least the originals' largest |yaw| + 5 degrees; how far past that is a choice",
           limit=lambda m, h: pose_rule(m.get(h, "abs_yaw", "original"), +1),
           passes=at_most, good=("original",))
    report("MIN_PITCH", qc.MIN_PITCH, "selfie_qc", measured, "pitch",
           rule="at most the originals' lowest pitch - 5 degrees; how far past that is a choice",
           limit=lambda m, h: pose_rule(m.get(h, "pitch", "original"), -1),
           passes=at_least, good=("original",))
    report("MAX_PITCH", qc.MAX_PITCH, "selfie_qc", measured, "pitch",
           rule="at least the originals' highest pitch + 5 degrees; how far past that is a choice",
           limit=lambda m, h: pose_rule(m.get(h, "pitch", "original"), +1),
           passes=at_most, good=("original",))
    report("MAX_ABS_ROLL", qc.MAX_ABS_ROLL, "selfie_qc", measured, "abs_roll",
           rule="at least the originals' largest |roll| + 5 degrees and under the 30 degree copies; how far past the "
                "originals is a choice",
           limit=lambda m, h: pose_rule(m.get(h, "abs_roll", "original"), +1, m.get(h, "abs_roll", "roll_30deg")),
           passes=at_most, good=("original",), bad=("roll_30deg",))
    report("MIN_EYE_OPENNESS", qc.MIN_EYE_OPENNESS, "selfie_qc", measured, "eye_openness",
           rule="geometric middle of the painted-shut copies' median and the least open original (the painting "
                "leaves some eyes the mesh still reads open, so their widest is no bound)",
           limit=lambda m, h: math.sqrt(statistics.median(m.get(h, "eye_openness", "eyes_shut"))
                                        * min(m.get(h, "eye_openness", "original")))
           if m.get(h, "eye_openness", "eyes_shut") and m.get(h, "eye_openness", "original") else None,
           passes=at_least, good=("original",), bad=("eyes_shut",))
    duplicates(measured, originals, copies)


def clipped_rule(originals: Sequence[float], degraded: Sequence[float]) -> Limit:
    if not originals:
        return None
    return max(10 * max(originals), 0.01), (statistics.median(degraded) if degraded else math.inf)


def pose_rule(values: Sequence[float], sign: int, beyond: Sequence[float] = ()) -> Limit:
    """(low, high) for a pose limit: 5 degrees past the originals' extreme, and short of the `beyond` copies."""
    if not values:
        return None
    if sign > 0:
        return max(values) + 5, (min(beyond) if beyond else math.inf)
    return -math.inf, min(values) - 5


def duplicates(measured: Measured, originals: dict, copies: dict) -> None:
    """The near-duplicate limits: copies of one photo must be caught, two different photos must not."""
    pairs: dict[str, list[tuple[int, float]]] = {}  # half -> (hash bits, embedding distance) per pair of photos
    for (half_a, _, hash_a, emb_a), (half_b, _, hash_b, emb_b) in itertools.combinations(originals.values(), 2):
        if half_a == half_b:
            pairs.setdefault(half_a, []).append((hash_distance(hash_a, hash_b),
                                                 float(np.linalg.norm(emb_a - emb_b))))
    for half in HALVES:
        for bits, gap in copies.get(half, []):
            measured.add(half, "hash_bits", "near_copy", bits)
            measured.add(half, "embedding", "near_copy", gap)
        for bits, gap in pairs.get(half, []):
            measured.add(half, "hash_bits", "other_photo", bits)
            measured.add(half, "embedding", "other_photo", gap)
            if bits <= MAX_DUPLICATE_HASH_BITS:
                measured.add(half, "embedding", "other_photo_within_hash_limit", gap)
    at_most = lambda value, limit: value <= limit  # noqa: E731
    report("MAX_DUPLICATE_HASH_BITS", MAX_DUPLICATE_HASH_BITS, "selfie_qc", measured, "hash_bits",
           rule="middle of the gap between the near copies' largest distance and the nearest other photo",
           limit=lambda m, h: gap_middle(m.get(h, "hash_bits", "near_copy"), m.get(h, "hash_bits", "other_photo")),
           passes=at_most, good=("near_copy",), shown=("other_photo",))
    report("MAX_DUPLICATE_EMBEDDING_DISTANCE", MAX_DUPLICATE_EMBEDDING_DISTANCE, "selfie_qc", measured,
           "embedding",
           rule="middle of the gap between the near copies' largest distance and the nearest other photo within the "
                "hash limit (all other photos when none is)",
           limit=lambda m, h: gap_middle(m.get(h, "embedding", "near_copy"),
                                         m.get(h, "embedding", "other_photo_within_hash_limit")
                                         or m.get(h, "embedding", "other_photo")),
           passes=at_most, good=("near_copy",), bad=("other_photo_within_hash_limit", "other_photo"))
    for half in HALVES:
        both = [(b, e) for b, e in pairs.get(half, []) if b <= MAX_DUPLICATE_HASH_BITS
                and e <= MAX_DUPLICATE_EMBEDDING_DISTANCE]
        caught = [(b, e) for b, e in copies.get(half, []) if b <= MAX_DUPLICATE_HASH_BITS
                  and e <= MAX_DUPLICATE_EMBEDDING_DISTANCE]
        print(f"  both limits, half {half}: near copies caught {len(caught)}/{len(copies.get(half, []))}; "
              f"different photos called duplicates {len(both)}/{len(pairs.get(half, []))}")


# -- framing ----------------------------------------------------------------------------------------------------

def framing_section(pipeline, photos) -> None:
    from inference.face_mesh import CHIN  # lazy: mediapipe (heavy), not for --help
    from inference.selfie_qc import face_mesh_on_face  # lazy: mediapipe (heavy), not for --help

    print("\n== Framing ==")
    measured = Measured()
    for half, _person, _path, rgb, face in one_face_photos(pipeline, photos):
        mesh = face_mesh_on_face(pipeline.mesher, rgb, face)
        if mesh is None:
            continue
        (lx, ly), (rx, ry) = face.left_eye, face.right_eye
        eye_distance = math.hypot(rx - lx, ry - ly)
        mx, my = face.eye_midpoint
        nx, ny = face.nose
        nose_drop = abs((rx - lx) * (ny - my) - (ry - ly) * (nx - mx)) / eye_distance
        yaw = mesh.head_pose()[0]
        measured.add(half, "nose_drop", "frontal" if abs(yaw) < 10 else "turned", nose_drop / eye_distance)
        # Crown: the highest row of the person matte over the face box's columns; chin: mediapipe's chin point.
        matte = pipeline.segmenter.matte(rgb, face)
        left, _, right, _ = (int(round(v)) for v in face.box)
        columns = matte[:, max(left, 0):max(min(right, matte.shape[1]), left + 1)] >= 0.5
        rows = np.flatnonzero(columns.any(axis=1))
        if rows.size == 0:
            continue
        crown = int(rows[0])
        chin = float(mesh.xy([CHIN])[0][1])
        kind = "touches_top" if crown == 0 else "whole_head"  # a head cut by the photo's top reads short
        measured.add(half, "head_height", kind, (chin - crown) / eye_distance)

    def within(share: float) -> Callable[[float, float], bool]:
        return lambda value, limit: abs(value / limit - 1.0) <= share

    def median_of(key: str, kind: str) -> Callable[[Measured, str], float | None]:
        return lambda m, h: statistics.median(m.get(h, key, kind)) if m.get(h, key, kind) else None

    print("(a ratio, not a gate: 'pass' counts the held-out photos within 10 % of the code's value)")
    report("HEAD_HEIGHT_PER_EYE_DISTANCE", framing.HEAD_HEIGHT_PER_EYE_DISTANCE, "framing", measured, "head_height",
           rule="median over whole heads (chin point to the top of the person matte, per eye distance)",
           limit=median_of("head_height", "whole_head"), passes=within(0.10), good=("whole_head",),
           shown=("touches_top",))
    for half in HALVES:
        values = measured.get(half, "head_height", "whole_head")
        if values:
            print(f"  half {half} median {statistics.median(values):.3f}")
    report("NOSE_DROP_PER_EYE_DISTANCE", framing.NOSE_DROP_PER_EYE_DISTANCE, "framing", measured, "nose_drop",
           rule="median over frontal faces (|yaw| < 10) of the eye-line-to-nose drop per eye distance",
           limit=median_of("nose_drop", "frontal"), passes=within(0.10), good=("frontal",), shown=("turned",))
    for half in HALVES:
        values = measured.get(half, "nose_drop", "frontal")
        if values:
            print(f"  half {half} median {statistics.median(values):.3f}")


# -- outputs: halo, edge rim, face L* ---------------------------------------------------------------------------

def outputs_section(pipeline, photos, size: int) -> None:
    from inference.finishing import LookInput, SubjectInput  # lazy: mediapipe (heavy), not for --help
    from inference.lighting import LightingInput, relight  # lazy: mediapipe (heavy), not for --help

    # Two looks: a flat navy backdrop, where a light rim shows most, and the textured office backdrop (test_finishing's
    # square-avatar look), where the edge measures are noisiest.
    looks = {
        "navy": LookInput(background=Background(kind="solid", color="#1f4e79"), lighting="studio",
                          color_grade=ColorGrade(), attire=Attire()),
        "office": LookInput(background=Background(kind="office", color="#1f4e79", color_to="#c8a25a"),
                            lighting="soft", color_grade=ColorGrade(temperature=0.2), attire=Attire()),
    }
    print(f"\n== Outputs (finished composites at {size} px on a navy and an office backdrop) ==")
    measured = Measured()
    for half, _person, _path, rgb, face in one_face_photos(pipeline, photos):
        subject = pipeline.finisher.prepare(SubjectInput(rgb=rgb, face=face, framing=Framing(),
                                                         retouch=Retouch(), long_side=size))
        height, width = subject.matte.shape
        outside = (subject.matte < 0.05).astype(np.uint8)
        ring = (outside > 0) & (cv2.distanceTransform(outside, cv2.DIST_L2, 3) <= max(2.0, 0.006 * height))
        for look in looks.values():
            finished = pipeline.finisher.render(subject, look)
            gain = relight(LightingInput(rgb=subject.rgb, matte=subject.matte, mesh=subject.mesh,
                                         preset=look.lighting)).background_gain
            backdrop = apply_light_falloff(render_background(look.background, width, height), gain)
            measured.add(half, "halo", "clean", finished.measurements["halo"])
            measured.add(half, "edge_rim", "clean", edge_rim(finished.rgb, subject.matte))
            # A light rim just outside the person (0.6 % of the frame wide; 15 or 30 % of the way to white): the
            # old background carried along around the hair.
            for strength in (0.15, 0.3):
                rimmed = finished.rgb.astype(np.float32)
                rimmed[ring] = (1 - strength) * rimmed[ring] + strength * 255.0
                rimmed = np.clip(rimmed + 0.5, 0, 255).astype(np.uint8)
                kind = f"rim_{round(strength * 100)}pc"
                measured.add(half, "halo", kind, halo_score(rimmed, subject.matte, backdrop))
                measured.add(half, "edge_rim", kind, edge_rim(rimmed, subject.matte))
            faces = prominent_faces(pipeline.faces.detect(finished.rgb))
            skin = skin_reference(finished.rgb, faces[0]) if faces else None
            if skin is not None:
                measured.add(half, "face_l", "clean", skin.lab[0])

    at_most = lambda value, limit: value <= limit  # noqa: E731
    report("MAX_HALO_SCORE", MAX_HALO_SCORE, "outputs", measured, "halo",
           rule="three times the worst clean composite",
           limit=lambda m, h: 3 * max(m.get(h, "halo", "clean")) if m.get(h, "halo", "clean") else None,
           passes=at_most, good=("clean",), bad=("rim_30pc",), shown=("rim_15pc",))
    report("MAX_EDGE_RIM", MAX_EDGE_RIM, "outputs", measured, "edge_rim",
           rule="geometric middle of the gap between the worst clean composite and the faintest 30 % rim",
           limit=lambda m, h: gap_middle(m.get(h, "edge_rim", "clean"), m.get(h, "edge_rim", "rim_30pc"),
                                         geometric=True),
           passes=at_most, good=("clean",), bad=("rim_30pc",), shown=("rim_15pc",))
    report("MIN_FACE_L", MIN_FACE_L, "outputs", measured, "face_l",
           rule="at least 10 L* under the darkest clean output; how far is a choice",
           limit=lambda m, h: (-math.inf, min(m.get(h, "face_l", "clean")) - 10) if m.get(h, "face_l", "clean")
           else None,
           passes=lambda value, limit: value >= limit, good=("clean",))
    report("MAX_FACE_L", MAX_FACE_L, "outputs", measured, "face_l",
           rule="at least 5 L* over the brightest clean output, under white (100); how far is a choice",
           limit=lambda m, h: (max(m.get(h, "face_l", "clean")) + 5, 100.0) if m.get(h, "face_l", "clean")
           else None,
           passes=at_most, good=("clean",))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--section", choices=("all", "selfie_qc", "framing", "outputs"), default="all")
    parser.add_argument("--per-person", type=int, default=None, help="photos per person (default: all)")
    parser.add_argument("--size", type=int, default=1024, help="long side of the finished composites, px")
    args = parser.parse_args()

    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help

    photos = [p for p in dev_photos(args.faces, args.per_person) if p[2].is_file()]
    if not photos:
        print(f"no photos of {HALF_A + HALF_B} under {args.faces}", file=sys.stderr)
        return 2
    print(f"{len(photos)} photos: half A {sum(h == 'A' for h, _, _ in photos)} ({', '.join(HALF_A)}), "
          f"half B {sum(h == 'B' for h, _, _ in photos)} ({', '.join(HALF_B)})")
    started = time.perf_counter()
    pipeline = HeadshotPipeline()
    try:
        if args.section in ("all", "selfie_qc"):
            selfie_qc_section(pipeline, photos)
        if args.section in ("all", "framing"):
            framing_section(pipeline, photos)
        if args.section in ("all", "outputs"):
            outputs_section(pipeline, photos, args.size)
    finally:
        pipeline.close()
    print(f"\ncalibration done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
