"""Milliseconds per pipeline stage per photo over the shared dev faces; run by hand (`make benchmark`), not a test."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
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
        matte = pipeline.person_matte(rgb, face, plan)
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
        for stage, begin, end in zip(STAGES, marks, marks[1:]):
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
    totals = [sum(values) for values in zip(*timings.values())]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
