"""Edges and objects below the face (issue 15), run by hand, not a test: `python benchmarks/edges.py`.

1. Every full-size dev photo (john_* chips left out): which framing styles it fills (variants.framing_fit), the
   bottom extension the tightest style still needs, and whether selfie QC refuses it as cut_off_below_chin.
2. Copies of dev photos cut 0.05..0.5 head heights below the chin, and the tight dev originals: the share of the
   person shown that finishing invents below the photo (framing_qc.invented_body_share) in a head-and-shoulders frame
   (what was planned before) and in the first style framing_fit now plans; "refused" where selfie QC refuses it.
3. The microphone check (occlusion.microphone_below_face): warnings on clean dev photos and demo samples (false
   positives), and synthetic microphones on the chest (benchmarks/occluders, place="chest") found, by half.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.occluders import CALIBRATION_PEOPLE, SIZES, Occluder, draw  # noqa: E402  (after the path set-up)
from inference.brand import Framing, Retouch  # noqa: E402
from inference.face_detect import prominent_faces  # noqa: E402
from inference.framing import estimate_head_height  # noqa: E402
from inference.ingest import decode_image  # noqa: E402
from inference.request import SelfieInput  # noqa: E402
from inference.variants import framing_fit, framing_for  # noqa: E402

SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))
FACES = SHARED / "faces" / "dev"
SAMPLES = REPO / "samples" / "selfies"

CROPS = ("barack_obama/1.jpg", "angelina/1.jpg", "katy_perry/1.jpg", "jennifer/4.jpg")
CUTS = (0.05, 0.15, 0.3, 0.5)
TIGHT_ORIGINALS = ("jack_dorsey/1.jpg", "jack_dorsey/4.jpg", "barack_obama/4.jpg", "alex_lacamoire/1.jpg",
                   "scarlett/7.jpg")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from inference.finishing import SubjectInput  # lazy: mediapipe (heavy), not for --help
    from inference.occlusion import microphone_below_face  # lazy: mediapipe (heavy), not for --help
    from inference.pipeline import HeadshotPipeline  # lazy: mediapipe (heavy), not for --help
    from inference.selfie_qc import face_mesh_on_face  # lazy: mediapipe (heavy), not for --help

    pipeline = HeadshotPipeline()

    def jpeg(rgb: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="JPEG", quality=92)
        return buffer.getvalue()

    def invented(rgb: np.ndarray, style: str) -> float:
        face = prominent_faces(pipeline.faces.detect(rgb))[0]
        prepared = pipeline.finisher.prepare(SubjectInput(
            rgb=rgb, face=face, framing=framing_for(style, Framing()), retouch=Retouch(), long_side=1024,
            source_matte=pipeline.finisher.selfie_matte(rgb, face)))
        return float(prepared.measurements["invented_body_share"])

    photos = sorted(p for p in FACES.glob("*/*.jpg") if not p.parent.name.startswith("john_"))
    print("== 1. dev originals: styles filled, tightest bottom extension, verdict")
    excluded = refused = 0
    for path in photos:
        name = f"{path.parent.name}/{path.name}"
        rgb = decode_image(path.read_bytes()).rgb
        fit = framing_fit(prominent_faces(pipeline.faces.detect(rgb))[0], rgb.shape[1], rgb.shape[0], Framing())
        verdict = pipeline.inspect_selfie(SelfieInput(name, path.read_bytes()))
        excluded += "head_and_shoulders" not in fit.styles
        refused += "cut_off_below_chin" in verdict.reasons
        print(f"{name:24s} {','.join(fit.styles):42s} tightest {fit.tightest:.3f} "
              f"{'REFUSED' if 'cut_off_below_chin' in verdict.reasons else ''}")
    print(f"head_and_shoulders left out for {excluded} of {len(photos)}; refused as cut_off_below_chin: {refused}")

    print("\n== 2. invented share of the body shown: head_and_shoulders -> the style planned now")
    cases = [(name, None) for name in TIGHT_ORIGINALS] + [(name, cut) for name in CROPS for cut in CUTS]
    for name, cut in cases:
        rgb = decode_image((FACES / name).read_bytes()).rgb
        if cut is not None:
            face = prominent_faces(pipeline.faces.detect(rgb))[0]
            head = estimate_head_height(face)
            rgb = np.ascontiguousarray(rgb[:int(face.eye_midpoint[1] + (0.5 + cut) * head)])
        verdict = pipeline.inspect_selfie(SelfieInput("x.jpg", jpeg(rgb)))
        fit = framing_fit(prominent_faces(pipeline.faces.detect(rgb))[0], rgb.shape[1], rgb.shape[0], Framing())
        label = name if cut is None else f"{name} cut {cut}"
        after = ("refused: " + ",".join(verdict.reasons)) if not verdict.accepted else \
            f"{fit.styles[0]} {invented(rgb, fit.styles[0]):.3f}"
        print(f"{label:32s} head_and_shoulders {invented(rgb, 'head_and_shoulders'):.3f} -> {after}")

    print("\n== 3. microphone below the face")
    warned = []
    for path in photos + sorted(p for p in SAMPLES.rglob("*") if p.is_file()):
        verdict = pipeline.inspect_selfie(SelfieInput(path.name, path.read_bytes()))
        if verdict.metrics.get("warnings"):
            warned.append((str(path.relative_to(path.parents[1])), verdict.metrics["warnings"]))
    print(f"warned (clean dev photos and samples): {warned}")
    found: dict[str, list[bool]] = {"calibration": [], "check": []}
    for path in photos:
        rgb = decode_image(path.read_bytes()).rgb
        mesh = face_mesh_on_face(pipeline.mesher, rgb, prominent_faces(pipeline.faces.detect(rgb))[0])
        if mesh is None:
            continue
        half = "calibration" if path.parent.name in CALIBRATION_PEOPLE else "check"
        for size in SIZES:
            for seed in (1, 2):
                drawn = draw(rgb, mesh.xy(range(478)), Occluder("microphone", "chest", size, seed))
                found[half].append(microphone_below_face(drawn, mesh) > 0.0)
    for half, hits in found.items():
        print(f"synthetic chest microphones found, {half} half: {sum(hits)} of {len(hits)}")


if __name__ == "__main__":
    main()
