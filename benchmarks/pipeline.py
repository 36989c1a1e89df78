"""Milliseconds per pipeline stage per photo over the shared dev faces; run by hand (`make benchmark`), not a test."""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.brand import BrandSpec  # noqa: E402  (after the path set-up above)
from inference.errors import IngestError  # noqa: E402
from inference.face_detect import prominent_faces  # noqa: E402
from inference.ingest import decode_image  # noqa: E402
from inference.near_duplicate import image_print  # noqa: E402
from inference.output_qc import OutputQCInput, assess_output, clipped_fractions, face_tone, skin_reference  # noqa: E402
from inference.renditions import encode_master_png, make_renditions  # noqa: E402
from inference.request import GenerationInput, SelfieInput  # noqa: E402

SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))

# The stages HeadshotPipeline.run() goes through for one headshot of one selfie, in order. The finishing stages are
# the Finisher's own (its timings_ms: prepare once per selfie and framing, render once per look), so the table
# measures exactly the code run() calls; before them selfie inspection and the selfie's matte, after them delivery.
INSPECTION_STAGES = ("decode", "detect+landmarks", "selfie mesh+QC", "embed")
DELIVERY_STAGES = ("output QC", "renditions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--limit", type=int, default=0, help="use at most this many photos (0 = all)")
    parser.add_argument("--variants", type=int, default=24, help="variants per person in the generation section")
    args = parser.parse_args()

    from inference.finishing import LookInput, SubjectInput  # lazy: mediapipe (heavy), not for --help
    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help
    from inference.selfie_qc import (  # lazy: mediapipe (heavy), not for --help
        face_mesh_on_face,
        measure_selfie,
        photo_reasons,
    )

    started = time.perf_counter()
    pipeline = HeadshotPipeline()
    load_ms = (time.perf_counter() - started) * 1000
    brand = BrandSpec()
    framing = brand.framing
    # As run() sizes the master: the largest rendition width, at the framing's aspect.
    width = max(brand.output_sizes)
    long_side = max(width, round(width / framing.aspect))
    look = LookInput(background=brand.background, lighting=brand.lighting, color_grade=brand.color_grade,
                     attire=brand.attire_color)

    photos = sorted(args.faces.glob("*/*.jpg"))
    if args.limit:
        photos = photos[: args.limit]
    if not photos:
        print(f"no photos under {args.faces}", file=sys.stderr)
        return 2
    timings: dict[str, list[float]] = {}
    skipped: list[str] = []
    size = None
    for photo in photos:
        data = photo.read_bytes()
        marks = [time.perf_counter()]
        try:
            decoded = decode_image(data, pipeline.limits)
        except IngestError as exc:
            skipped.append(f"{photo.parent.name}/{photo.name} ({exc.reason})")
            continue
        rgb = decoded.rgb
        marks.append(time.perf_counter())
        people = prominent_faces(pipeline.faces.detect(rgb))
        marks.append(time.perf_counter())
        if len(people) != 1:
            skipped.append(f"{photo.parent.name}/{photo.name} ({len(people)} faces)")
            continue
        face = people[0]
        reasons = photo_reasons(measure_selfie(rgb, face, face_mesh_on_face(pipeline.mesher, rgb, face)))
        marks.append(time.perf_counter())
        if reasons:
            skipped.append(f"{photo.parent.name}/{photo.name} ({reasons[0]})")
            continue
        embedding = pipeline.faces.embed(rgb, face)
        marks.append(time.perf_counter())
        stage_ms = {stage: (end - begin) * 1000 for stage, (begin, end) in
                    zip(INSPECTION_STAGES, pairwise(marks), strict=True)}

        started = time.perf_counter()
        # MODNet's matte of the whole selfie, once for all its framings (None with mediapipe: prepare.segmentation).
        source_matte = pipeline.finisher.selfie_matte(rgb, face)
        stage_ms["selfie matte"] = (time.perf_counter() - started) * 1000
        prepared = pipeline.finisher.prepare(SubjectInput(
            rgb=rgb, face=face, framing=framing, retouch=brand.retouch, long_side=long_side,
            source_matte=source_matte))
        finished = pipeline.finisher.render(prepared, look)
        finisher_ms = finished.measurements["timings_ms"]
        for group in ("prepare", "render"):
            stage_ms.update({f"{group}.{stage}": value for stage, value in finisher_ms[group].items()})
        headshot = finished.rgb
        size = headshot.shape[1], headshot.shape[0]

        marks = [time.perf_counter()]
        image_print(headshot)
        gain = finished.measurements.get("face_luma_gain")
        assess_output(pipeline.faces, OutputQCInput(
            rgb=headshot, profile_embedding=embedding, source_embedding=embedding,
            source_skin=skin_reference(rgb, face), source_clipped=clipped_fractions(rgb, face.box),
            source_tone=face_tone(rgb, face), exposure_gain_ev=gain if isinstance(gain, (int, float)) else None,
            matte=finished.matte, eye_line_target=finished.plan.framing.eye_line,
            halo_score=finished.measurements.get("halo")), pipeline.qc_limits)
        marks.append(time.perf_counter())
        encode_master_png(headshot)
        make_renditions(headshot, brand.output_sizes)
        marks.append(time.perf_counter())
        stage_ms.update({stage: (end - begin) * 1000 for stage, (begin, end) in
                         zip(DELIVERY_STAGES, pairwise(marks), strict=True)})
        for stage, value in stage_ms.items():
            timings.setdefault(stage, []).append(value)

    count = len(timings.get("decode", []))
    frame = "no headshot made" if size is None else f"frame {size[0]}x{size[1]}"
    print(f"{count} photos from {args.faces} ({frame}, renditions {list(brand.output_sizes)})")
    print(f"model load (once per actor): {load_ms:.0f} ms")
    if skipped:
        by_reason: dict[str, list[str]] = {}
        for entry in skipped:
            name, _, reason = entry.partition(" ")
            by_reason.setdefault(reason.strip("()"), []).append(name)
        summary = "; ".join(f"{reason}: {len(names)} (e.g. {names[0]})" for reason, names in by_reason.items())
        print(f"skipped {len(skipped)} photos the pipeline would reject - {summary}")
    if timings:
        print("one headshot per photo through the stages run() calls: selfie inspection, the Finisher's prepare and "
              "render stages (its own timings_ms), output QC, renditions")
        print(f"{'stage':<34}{'mean':>9}{'median':>9}{'p90':>9}{'max':>9}   ms per photo")
        totals = [sum(values) for values in zip(*timings.values(), strict=True)]
        for stage, values in list(timings.items()) + [("total", totals)]:
            ordered = sorted(values)
            p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
            print(f"{stage:<34}{statistics.fmean(values):9.1f}{statistics.median(values):9.1f}{p90:9.1f}"
                  f"{max(values):9.1f}")

    # Cross-check: the real run() on a few photos, one request each, should cost about the stage total.
    sample = [p for p in photos if f"{p.parent.name}/{p.name}" not in {s.split(' ')[0] for s in skipped}][:5]
    started = time.perf_counter()
    for photo in sample:
        pipeline.run(GenerationInput(selfies=(SelfieInput(photo.name, photo.read_bytes()),), brand=brand))
    per_run = (time.perf_counter() - started) * 1000 / max(len(sample), 1)
    print(f"HeadshotPipeline.run, one selfie per request, {len(sample)} photos: {per_run:.0f} ms per photo")
    generation_stages(pipeline, photos, skipped, variants=args.variants)
    if sample:
        single_core_2048(pipeline, sample[0])
    return 0


def generation_stages(pipeline, photos, skipped, *, variants: int) -> None:
    """The variant loop per person (prepare once per selfie/framing/retouch, render per look, QC, encode), in ms."""
    bad = {s.split(" ")[0] for s in skipped}
    people: dict[str, list] = {}
    for photo in photos:
        if f"{photo.parent.name}/{photo.name}" not in bad and not photo.parent.name.startswith("john_"):
            people.setdefault(photo.parent.name, []).append(photo)
    brand = BrandSpec(variants_per_person=variants)
    stage_ms: dict[str, list[float]] = {}
    finisher_ms: dict[str, list[float]] = {}
    per_person, counts = [], []
    for person, files in sorted(people.items()):
        selfies = tuple(SelfieInput(f"{person}/{p.name}", p.read_bytes()) for p in files[:4])
        started = time.perf_counter()
        result = pipeline.run(GenerationInput(selfies=selfies, brand=brand))
        per_person.append(time.perf_counter() - started)
        counts.append(len(result.headshots))
        for stage, values in pipeline.last_timings.items():
            stage_ms.setdefault(stage, []).extend(values)
        for headshot in result.headshots:
            timings = headshot.params.get("finishing_measurements", {}).get("timings_ms", {})
            for group in ("prepare", "render"):
                for stage, value in (timings.get(group) or {}).items():
                    finisher_ms.setdefault(f"{group}.{stage}", []).append(value)
    print(f"\nvariant generation: {len(people)} people (john_* chips left out: 150 px aligned crops, not selfies), "
          f"{statistics.fmean(counts):.0f} variants per person at {max(brand.output_sizes)} px wide, "
          f"{statistics.fmean(per_person):.1f} s per person (median {statistics.median(per_person):.1f} s), "
          f"cv2 threads = 1")
    print(f"{'stage':<34}{'calls':>7}{'mean':>9}{'median':>9}   ms per call")
    for stage, values in list(stage_ms.items()) + sorted(finisher_ms.items()):
        print(f"{stage:<34}{len(values):7d}{statistics.fmean(values):9.1f}{statistics.median(values):9.1f}")
    print("(finisher sub-stages are its own timings_ms; a prepared subject is reused by every render of its group, "
          "so a render-only call reports prepare sub-stages of the shared prepare)")


def single_core_2048(pipeline, photo: Path) -> None:
    """One finished headshot at 2048 px long side, every stage, pinned to one CPU core."""
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError) as exc:  # not Linux: say so instead of pretending
        print(f"\n2048 px on one core: could not pin to one core ({exc}); skipped")
        return
    # 4:5 portrait whose long side is 2048 px.
    brand = BrandSpec(variants_per_person=1, regeneration_tries=0, output_sizes=(1638, 1024, 512),
                      variant_framings=("head_and_shoulders",))
    request = GenerationInput(selfies=(SelfieInput(photo.name, photo.read_bytes()),), brand=brand)
    pipeline.run(request)  # warm caches (first mesh/graph calls)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        result = pipeline.run(request)
        runs.append((time.perf_counter() - started, dict(pipeline.last_timings)))
    best, timings = min(runs, key=lambda item: item[0])
    (headshot,) = result.headshots
    size = Image.open(io.BytesIO(headshot.image)).size
    parts = ", ".join(f"{k} {sum(v):.0f}" for k, v in timings.items())
    print(f"\none headshot at {size[0]}x{size[1]} on one core (sched_setaffinity to 1 CPU, cv2 threads 1), "
          f"{photo.parent.name}/{photo.name}: best of 3 {best * 1000:.0f} ms, median "
          f"{statistics.median(r[0] for r in runs) * 1000:.0f} ms (selfie inspection included; ms: {parts})")
    stages = headshot.params.get("finishing_measurements", {}).get("timings_ms", {})
    for group in ("prepare", "render"):
        print(f"  finisher {group}: " + ", ".join(f"{k} {v:.0f}" for k, v in (stages.get(group) or {}).items()))


if __name__ == "__main__":
    sys.exit(main())
