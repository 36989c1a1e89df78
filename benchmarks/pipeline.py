"""Milliseconds per pipeline stage per photo over the shared dev faces; run by hand (`make benchmark`), not a test."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))

STAGES = (
    "decode",
    "detect+landmarks",
    "embed",
    "segment",
    "frame",
    "composite+colour",  # edge colour clean-up, grade, alpha blend
    "renditions",
    "output QC",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--limit", type=int, default=0, help="use at most this many photos (0 = all)")
    parser.add_argument("--variants", type=int, default=24, help="variants per person in the generation section")
    args = parser.parse_args()

    from inference.background import composite, estimate_foreground, render_background
    from inference.brand import BrandSpec
    from inference.color import grade_subject
    from inference.errors import IngestError
    from inference.face_detect import prominent_faces
    from inference.framing import frame_portrait, frame_size, plan_framing
    from inference.ingest import decode_image
    from inference.output_qc import assess_headshot
    from inference.pipeline import HeadshotPipeline
    from inference.renditions import encode_master_png, make_renditions
    from inference.request import GenerationInput, SelfieInput

    started = time.perf_counter()
    pipeline = HeadshotPipeline()
    load_ms = (time.perf_counter() - started) * 1000
    brand = BrandSpec()
    size = frame_size(brand)
    started = time.perf_counter()
    backdrop = render_background(brand.background, *size)
    backdrop_ms = (time.perf_counter() - started) * 1000

    photos = sorted(args.faces.glob("*/*.jpg"))
    if args.limit:
        photos = photos[: args.limit]
    if not photos:
        print(f"no photos under {args.faces}", file=sys.stderr)
        return 2
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    skipped: list[str] = []
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
        embedding = pipeline.faces.embed(rgb, face)
        marks.append(time.perf_counter())
        plan = plan_framing(face, brand.framing, size)
        matte, _ = pipeline.finisher._source_matte(rgb, face, plan)
        marks.append(time.perf_counter())
        framed = frame_portrait(rgb, matte, plan)
        marks.append(time.perf_counter())
        person = estimate_foreground(framed.rgb, framed.matte)
        headshot = composite(grade_subject(person, brand.color_grade, brand.lighting), framed.matte, backdrop)
        marks.append(time.perf_counter())
        encode_master_png(headshot)
        make_renditions(headshot, brand.output_sizes)
        marks.append(time.perf_counter())
        assess_headshot(pipeline.faces, headshot, profile_embedding=embedding, source_embedding=embedding)
        marks.append(time.perf_counter())
        for stage, (begin, end) in zip(STAGES, pairwise(marks), strict=True):
            timings[stage].append((end - begin) * 1000)

    count = len(timings["decode"])
    print(f"{count} photos from {args.faces} (frame {size[0]}x{size[1]}, renditions {list(brand.output_sizes)})")
    print(f"model load (once per actor): {load_ms:.0f} ms; background render (once per run): {backdrop_ms:.1f} ms")
    if skipped:
        by_reason: dict[str, list[str]] = {}
        for entry in skipped:
            name, _, reason = entry.partition(" ")
            by_reason.setdefault(reason.strip("()"), []).append(name)
        summary = "; ".join(f"{reason}: {len(names)} (e.g. {names[0]})" for reason, names in by_reason.items())
        print(f"skipped {len(skipped)} photos the pipeline would reject - {summary}")
    print(f"{'stage':<18}{'mean':>9}{'median':>9}{'p90':>9}{'max':>9}   ms per photo")
    totals = [sum(values) for values in zip(*timings.values(), strict=True)]
    for stage, values in list(timings.items()) + [("total", totals)]:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(f"{stage:<18}{statistics.fmean(values):9.1f}{statistics.median(values):9.1f}{p90:9.1f}{max(values):9.1f}")

    # Cross-check: the real run() on a few photos, one request each, should cost about the stage total.
    sample = [p for p in photos if f"{p.parent.name}/{p.name}" not in {s.split(' ')[0] for s in skipped}][:5]
    started = time.perf_counter()
    for photo in sample:
        pipeline.run(GenerationInput(selfies=(SelfieInput(photo.name, photo.read_bytes()),), brand=brand))
    per_run = (time.perf_counter() - started) * 1000 / max(len(sample), 1)
    print(f"HeadshotPipeline.run, one selfie per request, {len(sample)} photos: {per_run:.0f} ms per photo")
    generation_stages(pipeline, photos, skipped, variants=args.variants)
    single_core_2048(pipeline, sample[0])
    return 0


def generation_stages(pipeline, photos, skipped, *, variants: int) -> None:
    """The variant loop per person (prepare once per selfie/framing/retouch, render per look, QC, encode), in ms."""
    from inference.brand import BrandSpec
    from inference.request import GenerationInput, SelfieInput

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

    from inference.brand import BrandSpec
    from inference.request import GenerationInput, SelfieInput

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
    import io

    from PIL import Image

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
