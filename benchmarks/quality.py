"""Quality figures on the shared dev faces, run by hand (`python benchmarks/quality.py`), not a test: selfie QC's
calibration distributions, its precision/recall on synthetic bad selfies, and its time per photo; then (section
"outputs", from benchmarks/quality_outputs.py) the outputs' identity distances, skin-tone dE and a contact sheet;
section "matting" (benchmarks/quality_matting.py, only when asked for) compares hair edges, mediapipe vs MODNet.

Each section is a function taking the loaded pipeline and the photos; main() prints them in turn. Bad = positive:
precision is the share of rejected photos that were bad, recall the share of bad photos rejected.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))

from benchmarks import quality_matting, quality_outputs  # noqa: E402  (after the path set-up above)
from benchmarks.dev_split import HALF_A, HALF_B  # noqa: E402
from benchmarks.occluders import CALIBRATION_PEOPLE as OCCLUDER_CALIBRATION_PEOPLE  # noqa: E402
from benchmarks.occluders import CHECK_PEOPLE as OCCLUDER_CHECK_PEOPLE  # noqa: E402
from benchmarks.occluders import all_occluders, draw  # noqa: E402
from inference.brand import BrandSpec  # noqa: E402
from inference.face_detect import prominent_faces  # noqa: E402
from inference.identity import find_consensus, geometric_median  # noqa: E402
from inference.ingest import decode_image  # noqa: E402
from inference.output_qc import QCLimits  # noqa: E402
from inference.presets import PRESETS, preset_brand_dict  # noqa: E402
from inference.ranking import DISTINCT_TOP, rank_entries, variant_axes  # noqa: E402
from inference.request import GenerationInput, SelfieInput  # noqa: E402
from inference.selfie_set import MAX_DUPLICATE_HASH_BITS, SetItem, hash_distance, judge_set  # noqa: E402
from inference.variants import SourceSelfie, plan_variants  # noqa: E402

SAMPLES = REPO / "samples" / "selfies"

# The synthetic bad selfies of the brief, each with the reason selfie QC should give it.
BAD_KINDS = {
    "blur_sigma3": "too_blurry",
    "minus_2ev": "too_dark",
    "noise_sigma20": "too_noisy",
    "second_face": "multiple_faces",
}
# More degradations, reported beside the headline figures (pose and over-exposure have no natural copy in the brief).
EXTRA_KINDS = {
    "plus_2ev": ("too_bright", "blown_highlights"),
    "roll_30deg": ("head_tilted",),
    "blur_sigma2": ("too_blurry",),
    "noise_sigma10": ("too_noisy",),
}
UPLOAD_JPEG_QUALITY = 92
SEED = 1234


@dataclass(frozen=True)
class Photo:
    name: str  # person/file
    person: str
    data: bytes


# -- degradations (all at the photo's own resolution, then saved as an upload would be) ---------------------------

def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64) / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    y = np.clip(linear, 0.0, 1.0)
    srgb = np.where(y <= 0.0031308, y * 12.92, 1.055 * y ** (1 / 2.4) - 0.055)
    return np.clip(srgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def exposure(rgb: np.ndarray, ev: float) -> np.ndarray:
    """What the camera would have recorded with `ev` stops more (or less) light: a gain in linear light, clipped."""
    return linear_to_srgb(srgb_to_linear(rgb) * 2.0 ** ev)


def gaussian_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def gaussian_noise(rgb: np.ndarray, sigma: float, seed: int = SEED) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(rgb.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre keeping every pixel (a tilted head; the corners are filled by reflection)."""
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def paste_second_face(rgb: np.ndarray, face, other_rgb: np.ndarray, other_face) -> np.ndarray | None:
    """Blend another person's head (face box x1.7, soft oval edge) into the photo at 0.6-0.9 x the face's width:
    a second person at a comparable size, beside the face (level with it or lower, as if behind a shoulder) or below
    it. The pasted head may run off the photo's edge, a quarter of its face at most; None when there is no room."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = face.box
    fcx, fcy = face.centre
    for relative in (0.9, 0.75, 0.6):
        scale = relative * face.width / other_face.width
        ocx, ocy = other_face.centre
        half = 0.85 * other_face.width
        crop = other_rgb[int(max(ocy - half, 0)):int(min(ocy + half, other_rgb.shape[0])),
                         int(max(ocx - half, 0)):int(min(ocx + half, other_rgb.shape[1]))]
        patch = cv2.resize(crop, (max(8, round(crop.shape[1] * scale)), max(8, round(crop.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        pasted_half = relative * face.width / 2  # half the pasted face's width
        gap = 0.15 * face.width
        centres = [(right + gap + pasted_half, fcy + dy * face.width) for dy in (0.0, 0.5, 1.0)]
        centres += [(left - gap - pasted_half, fcy + dy * face.width) for dy in (0.0, 0.5, 1.0)]
        centres += [(fcx, bottom + gap + pasted_half * 1.2)]
        for cx, cy in centres:
            # Up to a quarter of the pasted face may leave the photo (someone at the frame's edge).
            if not (0.5 * pasted_half <= cx <= width - 0.5 * pasted_half
                    and 0.6 * pasted_half <= cy <= height - 0.6 * pasted_half):
                continue
            return _blend_patch(rgb, patch, cx, cy)
    return None


def _blend_patch(rgb: np.ndarray, patch: np.ndarray, cx: float, cy: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    ph, pw = patch.shape[:2]
    mask = np.zeros((ph, pw), np.float32)
    cv2.ellipse(mask, (pw // 2, ph // 2), (int(pw * 0.42), int(ph * 0.48)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, pw * 0.04))[..., None]
    x, y = int(round(cx - pw / 2)), int(round(cy - ph / 2))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, width), min(y + ph, height)
    out = rgb.astype(np.float32).copy()
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    out[y0:y1, x0:x1] = m * patch[y0 - y:y1 - y, x0 - x:x1 - x] + (1 - m) * out[y0:y1, x0:x1]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def near_copies(rgb: np.ndarray) -> list[np.ndarray]:
    """What a re-upload of the same photo looks like: re-encoded, shifted, re-cropped, brightened, resized."""
    height, width = rgb.shape[:2]
    reencoded = np.asarray(Image.open(io.BytesIO(_jpeg(rgb, 70))).convert("RGB"))
    return [
        reencoded,
        np.ascontiguousarray(rgb[int(height * 0.03):, int(width * 0.03):]),
        np.ascontiguousarray(rgb[int(height * 0.1):int(height * 0.9), int(width * 0.1):int(width * 0.9)]),
        np.clip(rgb.astype(np.float32) * 1.2, 0, 255).astype(np.uint8),
        cv2.resize(rgb, (width * 2 // 3, height * 2 // 3), interpolation=cv2.INTER_AREA),
    ]


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def to_upload(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=UPLOAD_JPEG_QUALITY)
    return buffer.getvalue()


# -- loading ----------------------------------------------------------------------------------------------------

def load_photos(faces_dir: Path) -> list[Photo]:
    paths = sorted(faces_dir.glob("*/*.jpg"))
    return [Photo(f"{p.parent.name}/{p.name}", p.parent.name, p.read_bytes()) for p in paths]


def split_usable(pipeline, photos: list[Photo]):
    """Originals the per-photo checks accept (the usable ones), the reasons for the others, and every verdict."""
    usable, unusable, verdicts = [], {}, {}
    for photo in photos:
        verdict = verdicts[photo.name] = pipeline.inspect_selfie(SelfieInput(photo.name, photo.data))
        if verdict.accepted:
            usable.append(photo)
        else:
            unusable[photo.name] = verdict.reasons
    return usable, unusable, verdicts


# -- sections ---------------------------------------------------------------------------------------------------

def selfie_qc_section(pipeline, photos: list[Photo]) -> dict[str, float]:
    """Per-photo checks on originals and their degradations, then the set check with a colleague mixed in."""

    print("== Selfie QC ==")
    usable, unusable, baseline = split_usable(pipeline, photos)
    reasons_seen: dict[str, int] = {}
    for reasons in unusable.values():
        key = ",".join(reasons)
        reasons_seen[key] = reasons_seen.get(key, 0) + 1
    print(f"{len(photos)} dev originals; usable (accepted) {len(usable)}; not usable {len(unusable)}: "
          + "; ".join(f"{k} x{v}" for k, v in sorted(reasons_seen.items())))
    for name, reasons in sorted(unusable.items()):
        if not name.startswith("john_"):
            print(f"  not usable: {name} {reasons}")

    decoded = {p.name: decode_image(p.data, pipeline.limits).rgb for p in usable}
    faces = {name: prominent_faces(pipeline.faces.detect(rgb))[0] for name, rgb in decoded.items()}
    people = sorted({p.person for p in usable})

    cases: list[tuple[str, str, bytes]] = []  # (kind, photo name, bytes)
    for photo in usable:
        rgb = decoded[photo.name]
        cases.append(("original", photo.name, photo.data))
        cases.append(("blur_sigma3", photo.name, to_upload(gaussian_blur(rgb, 3.0))))
        cases.append(("minus_2ev", photo.name, to_upload(exposure(rgb, -2.0))))
        cases.append(("noise_sigma20", photo.name, to_upload(gaussian_noise(rgb, 20.0))))
        other_person = people[(people.index(photo.person) + 1) % len(people)]
        other = next(p for p in usable if p.person == other_person)
        pasted = paste_second_face(rgb, faces[photo.name], decoded[other.name], faces[other.name])
        if pasted is None:
            raise RuntimeError(f"no room for a second face in {photo.name}")
        cases.append(("second_face", photo.name, to_upload(pasted)))
        cases.append(("plus_2ev", photo.name, to_upload(exposure(rgb, 2.0))))
        # Rotate away from any tilt the photo already has (cv2's positive angle lowers the measured roll).
        roll = baseline[photo.name].metrics.get("roll") or 0.0
        cases.append(("roll_30deg", photo.name, to_upload(rotate(rgb, -30.0 if roll > 0 else 30.0))))
        cases.append(("blur_sigma2", photo.name, to_upload(gaussian_blur(rgb, 2.0))))
        cases.append(("noise_sigma10", photo.name, to_upload(gaussian_noise(rgb, 10.0))))

    verdicts = {}
    timings = []
    for kind, name, data in cases:
        started = time.perf_counter()
        verdicts[(kind, name)] = pipeline.inspect(SelfieInput(f"{kind}:{name}", data))
        timings.append((kind, (time.perf_counter() - started) * 1000))

    # Headline: originals (negatives) vs the brief's four degradations (positives), per photo.
    kinds = ["original", *BAD_KINDS]
    true_pos = sum(not verdicts[(k, p.name)].verdict.accepted for k in BAD_KINDS for p in usable)
    false_pos = sum(not verdicts[("original", p.name)].verdict.accepted for p in usable)
    positives = len(BAD_KINDS) * len(usable)

    print("\nPer-check confusion: how often each reason fired, per kind of photo (n per kind = "
          f"{len(usable)}); expected reason marked *")
    all_reasons = sorted({r for v in verdicts.values() for r in v.verdict.reasons})
    header = f"{'reason':<18}" + "".join(f"{k:>14}" for k in kinds + list(EXTRA_KINDS))
    print(header)
    for reason in all_reasons:
        row = f"{reason:<18}"
        for kind in kinds + list(EXTRA_KINDS):
            count = sum(reason in verdicts[(kind, p.name)].verdict.reasons for p in usable)
            expected = BAD_KINDS.get(kind) == reason or reason in EXTRA_KINDS.get(kind, ())
            row += f"{(str(count) + ('*' if expected else '')):>14}"
        print(row)
    row = f"{'rejected (any)':<18}"
    for kind in kinds + list(EXTRA_KINDS):
        row += f"{sum(not verdicts[(kind, p.name)].verdict.accepted for p in usable):>14}"
    print(row)
    for kind in list(BAD_KINDS) + list(EXTRA_KINDS):
        missed = [p.name for p in usable if verdicts[(kind, p.name)].verdict.accepted]
        wrong = [p.name for p in usable if not verdicts[(kind, p.name)].verdict.accepted
                 and not set(verdicts[(kind, p.name)].verdict.reasons)
                 & ({BAD_KINDS.get(kind)} | set(EXTRA_KINDS.get(kind, ())))]
        if missed or wrong:
            print(f"  {kind}: accepted {missed}; rejected for another reason only {wrong}")

    # Set check: each person's usable photos (at most 6) plus one photo of each other person, one at a time.
    sets = set_true = set_false_pos = set_items_kept = 0
    missed_sets = []
    items = {}
    for photo in usable:
        inspection = verdicts[("original", photo.name)]
        metrics = inspection.verdict.metrics
        items[photo.name] = SetItem(photo.name, inspection.verdict.embedding, metrics["phash"], metrics["sharpness"])
    for person in people:
        own = [p.name for p in usable if p.person == person][:6]
        if len(own) < 2:
            continue
        for other in people:
            if other == person:
                continue
            intruder = next(p.name for p in usable if p.person == other)
            judgement = judge_set([items[n] for n in own] + [items[intruder]])
            sets += 1
            if "different_person" in judgement.reasons[intruder] or "identity_unclear" in judgement.reasons[intruder]:
                set_true += 1
            else:
                missed_sets.append(f"{intruder} in {person}")
            set_false_pos += sum(bool(judgement.reasons[n]) for n in own)
            set_items_kept += len(own)
    print(f"\nSet check: {sets} sets (a person's usable photos, at most 6, plus one photo of another person)")
    print(f"  intruder rejected: {set_true}/{sets}; own photos wrongly rejected: {set_false_pos}/{set_items_kept}"
          + (f"; missed: {missed_sets}" if missed_sets else ""))
    small = []
    for person in people:
        own = [p.name for p in usable if p.person == person]
        for a, b in itertools.combinations(own, 2):
            small.append(bool(any(judge_set([items[a], items[b]]).reasons.values())))
    print(f"  two-photo sets of one person flagged: {sum(small)}/{len(small)} (both get identity_unclear when the two "
          "photos are > 0.6 apart)")

    all_true = true_pos + set_true
    all_pos = positives + sets
    all_flagged = all_true + false_pos + set_false_pos
    precision = all_true / max(all_flagged, 1)
    recall = all_true / max(all_pos, 1)
    acceptance = 1 - false_pos / max(len(usable), 1)
    print(f"\nHeadline (bad = positive; 4 degradations x {len(usable)} usable originals + {sets} intruders):")
    print(f"  per-photo: recall {true_pos}/{positives} = {true_pos / positives:.3f}; "
          f"usable originals accepted {len(usable) - false_pos}/{len(usable)} = {acceptance:.3f}")
    print(f"  overall: precision {precision:.3f}, recall {recall:.3f}")

    original_ms = sorted(ms for kind, ms in timings if kind == "original")
    every_ms = sorted(ms for _, ms in timings)
    print(f"\nTime per photo (inspect: decode, detect, mesh, measure, embed when accepted; one core): "
          f"originals median {statistics.median(original_ms):.0f} ms, max {original_ms[-1]:.0f} ms; "
          f"all {len(every_ms)} cases median {statistics.median(every_ms):.0f} ms, "
          f"p95 {every_ms[int(0.95 * (len(every_ms) - 1))]:.0f} ms")
    return {"precision": precision, "recall": recall, "acceptance": acceptance}


def calibration_section(pipeline, photos: list[Photo]) -> None:
    """The distributions behind selfie_qc's and identity's thresholds."""
    from inference.selfie_qc import (  # lazy: mediapipe (heavy), not for --help
        face_mesh_on_face,
        measure_selfie,
        perceptual_hash,
    )

    print("\n== Selfie QC calibration ==")
    measured: dict[str, dict[str, list[float]]] = {}
    for photo in photos:
        try:
            rgb = decode_image(photo.data, pipeline.limits).rgb
        except Exception:
            continue
        people = prominent_faces(pipeline.faces.detect(rgb))
        if len(people) != 1:
            continue
        for kind, image in (("original", rgb), ("blur_sigma3", gaussian_blur(rgb, 3.0)),
                            ("minus_2ev", exposure(rgb, -2.0)), ("noise_sigma20", gaussian_noise(rgb, 20.0))):
            image = np.asarray(Image.open(io.BytesIO(to_upload(image))).convert("RGB"))
            found = prominent_faces(pipeline.faces.detect(image))
            if len(found) != 1:
                continue
            m = measure_selfie(image, found[0], face_mesh_on_face(pipeline.mesher, image, found[0]))
            for key in ("sharpness", "noise", "face_highlight", "image_highlight", "face_luma", "yaw", "pitch",
                        "roll"):
                value = getattr(m, key)
                if value is not None:
                    measured.setdefault(kind, {}).setdefault(key, []).append(value)
            if m.eye_openness:
                measured.setdefault(kind, {}).setdefault("eye_openness", []).append(min(m.eye_openness))

    def span(kind: str, key: str) -> str:
        values = measured.get(kind, {}).get(key, [])
        return f"{min(values):.3g}..{max(values):.3g}" if values else "-"

    for key, kinds in (("sharpness", ("original", "blur_sigma3", "minus_2ev")),
                       ("noise", ("original", "noise_sigma20")),
                       ("face_highlight", ("original", "minus_2ev")), ("image_highlight", ("original", "minus_2ev")),
                       ("face_luma", ("original", "minus_2ev")),
                       ("yaw", ("original",)), ("pitch", ("original",)), ("roll", ("original",)),
                       ("eye_openness", ("original", "blur_sigma3"))):
        print(f"  {key:<16}" + "  ".join(f"{kind} {span(kind, key)}" for kind in kinds))

    # Identity: every dev photo, the 150 px john_* chips included (embedded straight from the chip).
    embeddings, hashes, owners = {}, {}, {}
    for photo in photos:
        rgb = np.asarray(Image.open(io.BytesIO(photo.data)).convert("RGB"))
        found = pipeline.faces.detect(rgb)
        if not found:
            continue
        embeddings[photo.name] = pipeline.faces.embed(rgb, found[0])
        hashes[photo.name] = perceptual_hash(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), found[0])
        owners[photo.name] = photo.person
    names = list(embeddings)
    same, different = [], []
    for a, b in itertools.combinations(names, 2):
        distance = float(np.linalg.norm(embeddings[a] - embeddings[b]))
        (same if owners[a] == owners[b] else different).append(distance)
    loo, others = [], []
    for person in sorted(set(owners.values())):
        own = [n for n in names if owners[n] == person]
        for name in own:
            centre = geometric_median(np.array([embeddings[n] for n in own if n != name]))
            loo.append(float(np.linalg.norm(embeddings[name] - centre)))
        centre = geometric_median(np.array([embeddings[n] for n in own]))
        others += [float(np.linalg.norm(embeddings[n] - centre)) for n in names if owners[n] != person]
    print(f"  identity ({len(names)} photos, {len(set(owners.values()))} people):")
    print(f"    pairwise same person: median {np.median(same):.3f}, p99 {np.percentile(same, 99):.3f}, "
          f"max {max(same):.3f}; different: min {min(different):.3f}, p1 {np.percentile(different, 1):.3f}")
    print(f"    to the geometric median of the person's other photos: median {np.median(loo):.3f}, "
          f"p95 {np.percentile(loo, 95):.3f}, max {max(loo):.3f}; other people to a person's centre: "
          f"min {min(others):.3f}, p1 {np.percentile(others, 1):.3f}")
    majority_ok = sum(
        not find_consensus(np.array([embeddings[n] for n in names if owners[n] == person])).outliers
        for person in set(owners.values())
    )
    print(f"    whole-person sets with no photo flagged: {majority_ok}/{len(set(owners.values()))}")
    copies = []
    for photo in photos:
        if photo.name not in embeddings or photo.person.startswith("john_"):
            continue
        rgb = np.asarray(Image.open(io.BytesIO(photo.data)).convert("RGB"))
        for copy in near_copies(rgb):
            found = pipeline.faces.detect(copy)
            if found:
                copies.append((hash_distance(hashes[photo.name], perceptual_hash(cv2.cvtColor(copy, cv2.COLOR_RGB2GRAY),
                                                                                   found[0])),
                               float(np.linalg.norm(pipeline.faces.embed(copy, found[0]) - embeddings[photo.name]))))
    print(f"  duplicates: {len(copies)} copies (JPEG q70, 3 % shift, 10 % crop, +20 % brightness, 2/3 size): hash "
          f"distance max {max(h for h, _ in copies)} (p95 {np.percentile([h for h, _ in copies], 95):.0f}), "
          f"embedding distance max {max(e for _, e in copies):.3f} "
          f"(p95 {np.percentile([e for _, e in copies], 95):.3f})")
    hash_pairs = sorted((hash_distance(hashes[a], hashes[b]), float(np.linalg.norm(embeddings[a] - embeddings[b])))
                        for a, b in itertools.combinations(names, 2))
    close = [(h, e) for h, e in hash_pairs if h <= MAX_DUPLICATE_HASH_BITS]
    print(f"  duplicates: different photos: hash distance min {hash_pairs[0][0]}, embedding distance min "
          f"{min(e for _, e in hash_pairs):.3f}; those within {MAX_DUPLICATE_HASH_BITS} hash bits: "
          f"embedding distance min {min((e for _, e in close), default=float('nan')):.3f} ({len(close)} pairs)")


def occlusion_section(pipeline, photos: list[Photo], *, every: int = 3) -> dict[str, float]:
    """Selfie QC's "face_covered" check on synthetic hands, microphones, phones and cups (benchmarks/occluders.py)
    drawn on the dev photos. Positive = an object over the mouth, chin, neck or a cheek; an object on the chest
    only and the clean photo are negatives. Thresholds were set on the calibration half; the check half's figures
    are the ones to quote. `every`: each photo gets every n-th occluder, offset per photo, so all kinds, places
    and sizes are covered without drawing all 60 on every photo."""
    from inference.selfie_qc import face_mesh_on_face  # lazy: mediapipe (heavy), not for --help

    print("== Occlusion (something in front of the face) ==")
    occluders = all_occluders(seed=SEED)
    figures: dict[str, float] = {}
    for half, people in (("calibration", OCCLUDER_CALIBRATION_PEOPLE), ("check", OCCLUDER_CHECK_PEOPLE)):
        counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        clean_refused, clean_covered, clean_total, below_refused, below_total = 0, [], 0, 0, 0
        recall_by_kind: dict[str, list[bool]] = {}
        recall_by_place: dict[str, list[bool]] = {}
        other_reasons: dict[str, int] = {}
        covered_refused_any = 0
        clean_values: list[float] = []
        half_photos = [p for p in photos if p.person in people]
        for index, photo in enumerate(half_photos):
            inspection = pipeline.inspect(SelfieInput(photo.name, photo.data))
            clean_total += 1
            clean_values.append((inspection.metrics.occlusion or 0.0) if inspection.metrics else 0.0)
            if "face_covered" in inspection.verdict.reasons:
                clean_covered.append(photo.name)
            if not inspection.verdict.accepted:
                clean_refused += 1
                continue  # a photo refused for something else can't tell us about occlusion
            rgb = decode_image(photo.data, pipeline.limits).rgb
            face = prominent_faces(pipeline.faces.detect(rgb))[0]
            mesh = face_mesh_on_face(pipeline.mesher, rgb, face)
            for occluder in occluders[index % every::every]:
                verdict = pipeline.inspect_selfie(SelfieInput(occluder.label, to_upload(draw(rgb, mesh.xy(range(478)),
                                                                                             occluder))))
                refused = "face_covered" in verdict.reasons
                for reason in verdict.reasons:
                    if reason != "face_covered":
                        other_reasons[reason] = other_reasons.get(reason, 0) + 1
                if occluder.covers_face:
                    counts["tp" if refused else "fn"] += 1
                    covered_refused_any += not verdict.accepted
                    recall_by_kind.setdefault(occluder.kind, []).append(refused)
                    recall_by_place.setdefault(occluder.place, []).append(refused)
                else:
                    counts["fp" if refused else "tn"] += 1
                    below_total += 1
                    below_refused += refused
        counts["fp"] += len(clean_covered)
        counts["tn"] += clean_total - len(clean_covered)
        precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
        recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
        print(f"{half} half ({', '.join(people)}): {len(half_photos)} clean photos, "
              f"{counts['tp'] + counts['fn']} covered, {below_total} with an object on the chest only")
        print(f"  face_covered: precision {precision:.3f}, recall {recall:.3f} "
              f"(tp {counts['tp']}, fp {counts['fp']}, fn {counts['fn']}, tn {counts['tn']})")
        print(f"  covered photos refused for any reason (no_face too): "
              f"{covered_refused_any}/{counts['tp'] + counts['fn']}")
        print(f"  clean photos refused as face_covered: {len(clean_covered)}/{clean_total} {clean_covered}; "
              f"refused for any reason: {clean_refused}/{clean_total}; occlusion max {max(clean_values):.3f}")
        print(f"  chest-only objects refused as face_covered: {below_refused}/{below_total}")
        print("  recall by kind: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(recall_by_kind.items())))
        print("  recall by place: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(recall_by_place.items())))
        if other_reasons:
            print("  other reasons on the occluded copies: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(other_reasons.items())))
        figures.update({f"{half}_precision": precision, f"{half}_recall": recall,
                        f"{half}_clean_false_refusals": len(clean_covered) / max(clean_total, 1)})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--section", default="all",
                        choices=("all", "selfie_qc", "calibration", "occlusion", "outputs", "matting", "looks"))
    args, rest = parser.parse_known_args()
    if args.section == "looks":
        return looks_section(args.faces, rest)
    if args.section == "outputs":
        return run_outputs_section(args.faces, rest)
    if args.section == "matting":
        return run_matting_section(args.faces, rest)

    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help

    photos = load_photos(args.faces)
    if not photos:
        print(f"no photos under {args.faces}", file=sys.stderr)
        return 2
    pipeline = HeadshotPipeline()
    try:
        if args.section in ("all", "selfie_qc"):
            selfie_qc_section(pipeline, photos)
        if args.section in ("all", "calibration"):
            calibration_section(pipeline, photos)
        if args.section in ("all", "occlusion"):
            occlusion_section(pipeline, [p for p in photos if not p.person.startswith("john_")])
    finally:
        pipeline.close()
    if args.section == "all":
        return run_outputs_section(args.faces, rest)
    return 0


def run_outputs_section(faces: Path, extra_args: list[str]) -> int:
    """Identity distances, skin-tone dE and the contact sheet of generated outputs (benchmarks/quality_outputs.py)."""
    sys.argv = [str(Path(quality_outputs.__file__)), "--faces", str(faces), *extra_args]
    return quality_outputs.main()


def run_matting_section(faces: Path, extra_args: list[str]) -> int:
    """Hair-edge bleed and halo, mediapipe before vs MODNet after, and their contact sheet (quality_matting.py)."""
    return quality_matting.main(["--faces", str(faces), *extra_args])


# -- looks: face lightness and contrast per lighting preset, and variety of what a person is shown ----------------

# The face-tone bounds of output_qc (MAX_FACE_LIGHTENING and the rest) are set on half A of the dev people
# (dev_split.py); half B is held out.
CALIBRATION_PEOPLE = HALF_A
HELD_OUT_PEOPLE = HALF_B


def looks_section(faces: Path, argv: list[str]) -> int:
    """Per lighting preset: the face's L* change and contrast ratio against the selfie, on every render (delivered
    or regenerated away) with and without output QC's face-tone bounds; and variety: distinct (selfie, framing)
    pairs and backdrop-only pairs among the top 8, duplicate images delivered. Quick look (about 2 min per pass on
    two busy cores): `--section looks --people 3 --variants 12 --size 384`; the figures in output_qc's comment come
    from `--split calibration --size 512` with `--preset corporate_finance` and `--preset default`."""
    parser = argparse.ArgumentParser(prog="quality.py --section looks")
    parser.add_argument("--people", type=int, default=len(CALIBRATION_PEOPLE) + len(HELD_OUT_PEOPLE))
    parser.add_argument("--split", choices=("all", "calibration", "held_out"), default="all")
    parser.add_argument("--selfies", type=int, default=4)
    parser.add_argument("--size", type=int, default=512, help="master width in px (smaller = faster)")
    parser.add_argument("--variants", type=int, default=None, help="variants per person (default: the kit's)")
    parser.add_argument("--preset", default="corporate_finance",
                        help="industry preset the brand kit starts from; 'default' for BrandSpec()'s defaults")
    args = parser.parse_args(argv)

    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help

    people = {"calibration": CALIBRATION_PEOPLE, "held_out": HELD_OUT_PEOPLE}.get(
        args.split, tuple(p for pair in itertools.zip_longest(CALIBRATION_PEOPLE, HELD_OUT_PEOPLE) for p in pair if p))
    people = [p for p in people if (faces / p).is_dir()][: args.people]
    data = BrandSpec().to_dict() if args.preset == "default" else preset_brand_dict(args.preset)
    data["output_sizes"] = [args.size]
    if args.variants:
        data["variants_per_person"] = args.variants
    brand = BrandSpec.from_dict(data)
    unbounded = QCLimits(max_face_lightening=math.inf, max_face_darkening=math.inf, min_face_contrast_ratio=0.0,
                         max_face_contrast_ratio=math.inf)
    print(f"looks: {', '.join(people)}; kit {args.preset} ({brand.variants_per_person} variants, "
          f"{len(brand.backgrounds)} backdrops), {args.size} px")
    print("  plans (3 selfies): distinct (selfie, framing) pairs and photos repeated on another backdrop, per kit:")
    for kit in ("default", *PRESETS):
        kit_brand = BrandSpec() if kit == "default" else BrandSpec.from_dict(preset_brand_dict(kit))
        plan = plan_variants(kit_brand, [SourceSelfie(f"s{i}", i) for i in range(3)], base_seed=0)
        shots = [(v.source, v.framing_style, v.lighting) for v in plan]
        print(f"    {kit:18s} {len(plan)} variants, {len({t[:2] for t in shots})} (selfie, framing), "
              f"{len(shots) - len(set(shots))} backdrop-only copies")

    def summary(values: list[float]) -> str:
        if not values:
            return "n/a"
        q = np.percentile(values, [0, 50, 100])
        return f"min {q[0]:+.1f} median {q[1]:+.1f} max {q[2]:+.1f}"

    for label, limits in (("without face-tone bounds (before)", unbounded), ("with face-tone bounds", None)):
        pipeline = HeadshotPipeline(qc_limits=limits)
        change: dict[tuple[str, str], list[float]] = {}
        ratio: dict[tuple[str, str], list[float]] = {}
        delivered_change: dict[str, list[float]] = {}
        failed_tone = {}
        variety = []
        started = time.perf_counter()
        try:
            for person in people:
                split = "calibration" if person in CALIBRATION_PEOPLE else "held_out"
                files = sorted((faces / person).glob("*.jpg"))[: args.selfies]
                selfies = tuple(SelfieInput(f"{person}/{f.name}", f.read_bytes()) for f in files)
                result = pipeline.run(GenerationInput(selfies=selfies, brand=brand))
                for h in result.headshots:
                    renders = [(a["params"]["lighting"], a["scores"]) for a in h.qc["attempts"]]
                    renders.append((h.params["lighting"], h.qc))
                    for lighting, scores in renders:
                        if isinstance(scores.get("face_l_change"), (int, float)):
                            change.setdefault((split, lighting), []).append(scores["face_l_change"])
                            ratio.setdefault((split, lighting), []).append(scores["face_contrast_ratio"])
                    if h.passed and isinstance(h.qc.get("face_l_change"), (int, float)):
                        delivered_change.setdefault(h.params["lighting"], []).append(h.qc["face_l_change"])
                    for code in ("face_lightness", "face_contrast", "face_harsh"):
                        failed_tone[code] = failed_tone.get(code, 0) + (code in h.qc["failures"])
                entries = [{"variant": h.variant, "params": h.params, "qc": h.qc, "passed": h.passed}
                           for h in result.headshots]
                digests = [hashlib.sha256(np.asarray(Image.open(io.BytesIO(h.image)).convert("RGB")).tobytes())
                           .hexdigest() for h in result.headshots]
                row = {"person": person, "delivered": len(result.headshots),
                       "duplicates": len(digests) - len(set(digests)),
                       "dropped": len(getattr(result, "dropped", ()))}
                scores = [r.score for r in rank_entries(entries, distinct_top=0) if entries[r.index]["passed"]]
                row["score_spread"] = (max(scores) - min(scores)) if scores else float("nan")
                for name, distinct in (("score_order", 0), ("distinct", DISTINCT_TOP)):
                    top = [variant_axes(entries[r.index]) for r in rank_entries(entries, distinct_top=distinct)][:8]
                    pairs = [(p["source"], p["framing_style"]) for p in top]
                    triples = [(p["source"], p["framing_style"], p["lighting"]) for p in top]
                    row[name] = (len(set(pairs)), len(triples) - len(set(triples)))
                variety.append(row)
        finally:
            pipeline.close()
        print(f"\n  {label}: {time.perf_counter() - started:.0f} s")
        print("  face L* change vs selfie (output - selfie, inner face) and contrast ratio (L* std output/selfie),"
              " every render:")
        for (split, lighting) in sorted(change):
            values, ratios = change[(split, lighting)], ratio[(split, lighting)]
            print(f"    {split:11s} {lighting:8s} n={len(values):3d}  dL* {summary(values)}  "
                  f"contrast x{min(ratios):.2f}..x{statistics.median(ratios):.2f}..x{max(ratios):.2f}")
        print("  delivered (passed) dL* per preset: " + "; ".join(
            f"{k} {summary(v)}" for k, v in sorted(delivered_change.items())))
        print(f"  delivered still failing face_lightness / face_contrast / face_harsh: "
              f"{failed_tone.get('face_lightness', 0)} / {failed_tone.get('face_contrast', 0)} / "
              f"{failed_tone.get('face_harsh', 0)}")
        for row in variety:
            print(f"    {row['person']:15s} delivered {row['delivered']:2d}, duplicate images {row['duplicates']}, "
                  f"dropped {row['dropped']}; top 8 distinct (selfie, framing): score order "
                  f"{row['score_order'][0]}, distinct ranking {row['distinct'][0]}; backdrop-only pairs: "
                  f"{row['score_order'][1]} -> {row['distinct'][1]}; ranking scores span {row['score_spread']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
