"""Quality of the delivered headshots on the shared dev faces: identity (own vs nearest other person), skin-tone
drift, QC pass rate, and a contact sheet to look at; run by hand, not a test."""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.brand import Background, BrandSpec  # noqa: E402  (after the path set-up above)
from inference.face_detect import SAME_PERSON_DISTANCE, identity_distance  # noqa: E402
from inference.identity import profile_from_embeddings  # noqa: E402
from inference.request import GenerationInput, SelfieInput  # noqa: E402

SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))
# The john_* folders hold 150 px aligned face chips (dlib/LFW style crops), not selfies: the selfie gate rejects
# them as too small, and a head-and-shoulders headshot can't be made from a crop that ends at the chin.
SKIP_PREFIX = "john_"
THUMB_WIDTH = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--variants", type=int, default=8, help="variants per person")
    parser.add_argument("--selfies", type=int, default=4, help="selfies per person given to the run")
    parser.add_argument("--size", type=int, default=640, help="master width in px (smaller = faster benchmark)")
    parser.add_argument("--sheet", type=Path, default=Path("/tmp/variants/contact_sheet.png"))
    parser.add_argument("--per-row", type=int, default=6, help="variants shown per person on the contact sheet")
    args = parser.parse_args()

    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help

    pipeline = HeadshotPipeline()
    folders = sorted(p for p in args.faces.iterdir() if p.is_dir())
    skipped = [p.name for p in folders if p.name.startswith(SKIP_PREFIX)]
    people = {p.name: sorted(p.glob("*.jpg"))[: args.selfies] for p in folders if not p.name.startswith(SKIP_PREFIX)}
    print(f"{len(people)} people from {args.faces}; skipped {', '.join(skipped)} (150 px aligned chips, not selfies)")

    # Pass 1: every person's identity profile from their accepted selfies (what the platform stores per employee).
    requests, profiles = {}, {}
    for person, files in people.items():
        selfies = tuple(SelfieInput(f"{person}/{f.name}", f.read_bytes()) for f in files)
        inspected = pipeline.inspect_set(selfies).inspections
        accepted = [i for i in inspected if i.verdict.accepted and i.embedding is not None]
        if not accepted:
            print(f"  {person}: no accepted selfie ({[i.verdict.reasons for i in inspected]}); left out")
            continue
        profiles[person] = np.asarray(profile_from_embeddings([i.embedding for i in accepted]).centre)
        requests[person] = selfies

    brand = BrandSpec(variants_per_person=args.variants, output_sizes=(args.size,),
                      extra_backgrounds=(Background(kind="gradient", color="#eef1f5", color_to="#8593a6"),))
    own, nearest_other, delta_e, delta_e_raw, seconds = [], [], [], [], []
    rows, failures = [], {}
    total = delivered = regenerated = 0
    for person, selfies in requests.items():
        others = {name: tuple(v) for name, v in profiles.items() if name != person}
        started = time.perf_counter()
        result = pipeline.run(GenerationInput(selfies=selfies, brand=brand, other_profiles=others))
        seconds.append(time.perf_counter() - started)
        total += len(result.headshots)
        regenerated += sum(1 for h in result.headshots if h.qc["attempts"])
        for h in result.headshots:
            for code in h.qc["failures"]:
                failures[code] = failures.get(code, 0) + 1
        passed = [h for h in result.headshots if h.passed]
        delivered += len(passed)
        for h in passed:
            # Measured here from the delivered embedding, independently of the QC record.
            emb = np.asarray(h.embedding)
            own.append(identity_distance(emb, profiles[person]))
            nearest_other.append(min(identity_distance(emb, p) for n, p in profiles.items() if n != person))
            if isinstance(h.qc.get("skin_delta_e"), float):
                delta_e.append(h.qc["skin_delta_e"])
                delta_e_raw.append(h.qc["skin_delta_e_as_photographed"])
        rows.append((person, [h for h in result.headshots][: args.per_row]))
        worst = max((h.qc["identity_distance"] for h in passed), default=float("nan"))
        print(f"  {person}: {len(result.headshots)} variants, {len(passed)} passed, "
              f"{sum(1 for h in result.headshots if h.qc['attempts'])} regenerated, worst own distance {worst:.3f}, "
              f"{seconds[-1]:.1f} s")

    own_arr, other_arr = np.array(own), np.array(nearest_other)
    below = float((own_arr < SAME_PERSON_DISTANCE).mean()) if own else float("nan")
    nearer = float((own_arr < other_arr).mean()) if own else float("nan")
    print(f"\ndelivered {delivered} of {total} variants ({regenerated} regenerated at least once); "
          f"failures of undelivered ones: {failures or 'none'}")
    print(f"identity distance to own profile: median {np.median(own_arr):.3f}, max {own_arr.max():.3f}; "
          f"to nearest other person: median {np.median(other_arr):.3f}, min {other_arr.min():.3f}; "
          f"smallest margin (other - own) {np.min(other_arr - own_arr):.3f}")
    ok = below == 1.0 and nearer == 1.0
    print(f"acceptance (100% of delivered < {SAME_PERSON_DISTANCE} AND nearer to own person than to any other): "
          f"{below:.1%} below, {nearer:.1%} nearer -> {'PASS' if ok else 'FAIL'}")
    print(f"skin-tone drift CIEDE2000 at the output's exposure: median {statistics.median(delta_e):.2f}, "
          f"p90 {np.percentile(delta_e, 90):.2f}, max {max(delta_e):.2f} (bound 5) -> "
          f"{'PASS' if statistics.median(delta_e) < 5 else 'FAIL'}; as photographed (incl. the deliberate team "
          f"exposure correction): median {statistics.median(delta_e_raw):.2f}, max {max(delta_e_raw):.2f}")
    print("age drift / gender drift: unavailable (no age or gender model ships in a PyPI package here)")
    print(f"time per person ({args.variants} variants at {args.size} px, QC and regeneration included): "
          f"median {statistics.median(seconds):.1f} s")

    # Contact sheet: one row per person, best-ranked variants first, labelled with name, rank and two QC numbers.
    label_h = 30
    thumbs = []
    for person, headshots in rows:
        row = []
        for h in headshots:
            image = Image.open(io.BytesIO(h.image)).convert("RGB")
            image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
            tile = Image.new("RGB", (THUMB_WIDTH, THUMB_WIDTH * 5 // 4 + label_h), "white")
            tile.paste(image, (0, 0))
            draw = ImageDraw.Draw(tile)
            mark = "" if h.passed else " FAIL"
            draw.text((3, tile.height - label_h + 2), f"#{h.rank} {h.variant}{mark}", fill="black")
            draw.text((3, tile.height - label_h + 15), f"id {h.qc['identity_distance']:.2f} dE {h.qc['skin_delta_e']}",
                      fill="black")
            row.append(tile)
        thumbs.append((person, row))
    name_w = 110
    height = sum(max(t.height for t in row) for _, row in thumbs if row)
    width = name_w + args.per_row * THUMB_WIDTH
    sheet = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    y = 0
    for person, row in thumbs:
        if not row:
            continue
        draw.text((5, y + 10), person, fill="black")
        for i, tile in enumerate(row):
            sheet.paste(tile, (name_w + i * THUMB_WIDTH, y))
        y += max(t.height for t in row)
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.sheet)
    print(f"contact sheet: {args.sheet}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
