"""Matte edge quality before (mediapipe) and after (MODNet) on dev photos, run by hand, not a test; `python
benchmarks/quality.py --section matting [--matting-out DIR]` runs it.

Composited set: photos of curly, blond and long dark hair put on busy backgrounds twice, on a texture and on its
colour complement, through the finishing path's matte stages (frame, refine_edges, keep_attached,
estimate_foreground, composite on navy). The reference alpha that places the texture is the per-pixel minimum of
both methods' mattes on the original photo, so neither method's idea of the edge is built into the input.
 - bleed: share of the old background still in the composite, in a band around the head (background.background_bleed:
   the two composites should be identical; lower is better).
 - halo: background.halo_score of the composite (the old background around the hair on the new backdrop).
"modnet" is the product's path: where MODNet fails its check against mediapipe (segmentation.portrait_loss) that
input gets mediapipe's matte, so a pair can mix models (printed as the check's loss per input).
Real set: dev photos that already have busy backgrounds (crowds, signs, curtains): halo only, no swap possible.
Writes a contact sheet: input, mediapipe, MODNet, then the hair of each enlarged.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.background import (  # noqa: E402  (after the path set-up above)
    background_bleed,
    composite,
    estimate_foreground,
    halo_score,
    render_background,
)
from inference.brand import Background, Framing  # noqa: E402
from inference.face_detect import FaceAnalyzer, prominent_faces  # noqa: E402
from inference.framing import frame_subject, plan_framing  # noqa: E402
from inference.ingest import decode_image  # noqa: E402
from inference.matting import DEFAULT_MODEL_PATH, PortraitMatter  # noqa: E402

SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))

# Curls, blond (on light and on dark originals), long dark hair.
COMPOSITED = ("alex_lacamoire/1.jpg", "alex_lacamoire/3.jpg", "jennifer/1.jpg", "jennifer/2.jpg",
              "katy_perry/3.jpg", "scarlett/2.jpg", "scarlett/5.jpg", "katy_perry/7.jpg")
# Busy real backgrounds: hearing-room crowd, press walls, curtains, flags.
REAL_BUSY = ("jack_dorsey/1.jpg", "jennifer/3.jpg", "jennifer/4.jpg", "jennifer/5.jpg", "katy_perry/5.jpg",
             "barack_obama/1.jpg")
SIZE = (819, 1024)
NAVY = "#1f4e79"
# The band around the head where bleed is measured: this fraction of the frame height either side of the edge.
HAIR_BAND = 0.03
TILE_HEIGHT = 300


def busy_texture(height: int, width: int, seed: int) -> np.ndarray:
    """Office clutter stand-in: saturated blocks at three scales (shelves, posters, spines), slightly out of focus
    as a background a metre behind a phone's subject is. (Pixel-fine stripes were tried first: both models take
    such a texture for hair, which no real backdrop looks like.)"""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3)
    for count, scale in ((40, 0.25), (160, 0.08), (600, 0.025)):
        for _ in range(count):
            w, h = (int(v) for v in rng.uniform(0.3, 1.0, 2) * scale * max(height, width) + 2)
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            canvas[y:y + h, x:x + w] = rng.integers(0, 256, 3)
    return cv2.GaussianBlur(canvas, (0, 0), max(1.0, 0.002 * max(height, width)))


class Methods:
    """The two mattes on one photo, as the Finisher computes them: mediapipe per framing crop, MODNet per selfie."""

    def __init__(self) -> None:
        from inference.segmentation import PersonSegmenter  # lazy: mediapipe (heavy), not for --help

        self.analyzer = FaceAnalyzer()
        self.segmenter = PersonSegmenter(PortraitMatter(DEFAULT_MODEL_PATH))
        self.seconds: dict[str, list[float]] = {"mediapipe": [], "modnet": []}
        self.losses: list[float] = []  # segmentation.portrait_loss of each MODNet matte since the last reset

    def source_matte(self, method: str, rgb: np.ndarray, face, plan) -> np.ndarray:
        from inference.segmentation import PORTRAIT_MAX_LOSS  # lazy: mediapipe (heavy), not for --help

        started = time.perf_counter()
        matte = None
        if method == "modnet":
            matte, loss = self.segmenter.portrait_alpha(rgb, face)
            self.losses.append(loss)
            if loss > PORTRAIT_MAX_LOSS:  # the product falls back to mediapipe (segmentation.portrait_matte)
                matte = None
        if matte is None:
            height, width = rgb.shape[:2]
            left, top, right, bottom = plan.source_region(width, height)
            matte = np.zeros((height, width), np.float32)
            matte[top:bottom, left:right] = self.segmenter.mediapipe_matte(rgb[top:bottom, left:right],
                                                                           face.translated(-left, -top))
        self.seconds[method].append(time.perf_counter() - started)
        return matte

    def finish(self, method: str, rgb: np.ndarray, face, plan, backdrop: np.ndarray):
        """Composite on the backdrop through the Finisher's matte stages; (composite, matte, framed photo)."""
        from inference.finishing import face_box_from_plan  # lazy: mediapipe (heavy), not for --help
        from inference.segmentation import keep_attached, refine_edges  # lazy: mediapipe (heavy), not for --help

        framed = frame_subject(rgb, self.source_matte(method, rgb, face, plan), plan)
        matte = refine_edges(framed.rgb, framed.matte, framed.inside)
        matte = keep_attached(matte, face_box_from_plan(plan))
        person = estimate_foreground(framed.rgb, matte)
        return composite(person, matte, backdrop), matte, framed.rgb


def head_band(matte: np.ndarray, plan) -> np.ndarray:
    """Pixels within HAIR_BAND of the matte's 0.5 line, above the chin: where hair meets the background."""
    from inference.finishing import face_box_from_plan  # lazy: mediapipe (heavy), not for --help

    height = matte.shape[0]
    radius = max(2, round(HAIR_BAND * height))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    person = (matte >= 0.5).astype(np.uint8)
    band = (cv2.dilate(person, kernel) > 0) & (cv2.erode(person, kernel) == 0)
    chin = int(round(face_box_from_plan(plan)[3]))
    band[max(chin, 0):] = False
    return band


def run(faces: Path, out: Path) -> dict:
    methods = Methods()
    backdrop = render_background(Background(color=NAVY), *SIZE)
    rows, figures = [], {"composited": {}, "real": {}}
    for index, name in enumerate(COMPOSITED):
        rgb = decode_image((faces / name).read_bytes()).rgb
        face = prominent_faces(methods.analyzer.detect(rgb))[0]
        plan = plan_framing(face, Framing(), SIZE)
        reference = np.minimum(methods.source_matte("modnet", rgb, face, plan),
                               methods.source_matte("mediapipe", rgb, face, plan))[..., None]
        first = busy_texture(*rgb.shape[:2], seed=index)
        second = 255 - first
        inputs = [np.rint(reference * rgb + (1.0 - reference) * t).astype(np.uint8) for t in (first, second)]
        old = [frame_subject(t, reference[..., 0], plan).rgb for t in (first, second)]
        methods.losses = []  # the check on the two busy inputs only, not on the original
        certain = frame_subject(rgb, reference[..., 0], plan).matte
        band = head_band(certain, plan)
        row, scores = [frame_subject(inputs[0], reference[..., 0], plan).rgb], {}
        for method in ("mediapipe", "modnet"):
            (one, matte, _), (two, _, _) = (methods.finish(method, image, face, plan, backdrop) for image in inputs)
            scores[method] = {"bleed": background_bleed(one, two, old[0], old[1], band),
                              "halo": halo_score(one, matte, backdrop),
                              # Person both methods agreed on in the original photo, lost on the busy one.
                              "cut": float(((certain >= 0.95) & (matte < 0.5)).sum() / max(1, (certain >= 0.95).sum()))}
            row.append(one)
        scores["modnet_loss"] = methods.losses
        figures["composited"][name] = scores
        rows.append((name, row, band))
        print(f"  {name:22s} bleed {scores['mediapipe']['bleed']:.3f} -> {scores['modnet']['bleed']:.3f}   "
              f"halo {scores['mediapipe']['halo']:.4f} -> {scores['modnet']['halo']:.4f}   "
              f"cut {scores['mediapipe']['cut']:.3f} -> {scores['modnet']['cut']:.3f}   MODNet check loss "
              f"{_losses(methods.losses)}", flush=True)
    for name in REAL_BUSY:
        rgb = decode_image((faces / name).read_bytes()).rgb
        found = prominent_faces(methods.analyzer.detect(rgb))
        if not found:
            print(f"  {name}: no face found, skipped")
            continue
        face = found[0]
        plan = plan_framing(face, Framing(), SIZE)
        row, scores = [frame_subject(rgb, np.ones(rgb.shape[:2], np.float32), plan).rgb], {}
        methods.losses = []
        for method in ("mediapipe", "modnet"):
            one, matte, _ = methods.finish(method, rgb, face, plan, backdrop)
            scores[method] = {"halo": halo_score(one, matte, backdrop)}
            row.append(one)
        scores["modnet_loss"] = methods.losses
        figures["real"][name] = scores
        rows.append((name + " (real background)", row, head_band(matte, plan)))
        print(f"  {name:22s} (real)   halo {scores['mediapipe']['halo']:.4f} -> {scores['modnet']['halo']:.4f}   "
              f"MODNet check loss {_losses(methods.losses)}", flush=True)

    def mean(group: str, method: str, key: str) -> float:
        return statistics.fmean(s[method][key] for s in figures[group].values())

    print(f"composited ({len(figures['composited'])} photos, busy texture and its complement): mean hair-band "
          f"bleed mediapipe {mean('composited', 'mediapipe', 'bleed'):.3f} -> MODNet "
          f"{mean('composited', 'modnet', 'bleed'):.3f}; mean halo {mean('composited', 'mediapipe', 'halo'):.4f} "
          f"-> {mean('composited', 'modnet', 'halo'):.4f}; mean share of the person cut "
          f"{mean('composited', 'mediapipe', 'cut'):.3f} -> {mean('composited', 'modnet', 'cut'):.3f}")
    if figures["real"]:
        print(f"real busy backgrounds ({len(figures['real'])} photos): mean halo "
              f"{mean('real', 'mediapipe', 'halo'):.4f} -> {mean('real', 'modnet', 'halo'):.4f}")
    print(f"seconds per source matte (this machine, 1 thread): mediapipe "
          f"{statistics.median(methods.seconds['mediapipe']):.2f}, MODNet "
          f"{statistics.median(methods.seconds['modnet']):.2f}")
    out.mkdir(parents=True, exist_ok=True)
    sheet = out / "matting_before_after.png"
    cv2.imwrite(str(sheet), cv2.cvtColor(contact_sheet(rows), cv2.COLOR_RGB2BGR))
    print(f"contact sheet: {sheet}  (input | mediapipe | MODNet | mediapipe hair | MODNet hair)")
    return figures


def _losses(losses: list[float]) -> str:
    from inference.segmentation import PORTRAIT_MAX_LOSS  # lazy: mediapipe (heavy), not for --help

    return " / ".join(f"{v:.3f}{' (mediapipe used)' if v > PORTRAIT_MAX_LOSS else ''}" for v in losses)


def contact_sheet(rows) -> np.ndarray:
    lines = []
    for name, (source, before, after), band in rows:
        ys, xs = np.nonzero(band)
        top, bottom = ys.min(), ys.max()
        bottom = top + max(40, (bottom - top) // 2)  # the upper half of the band: the crown and the side hair
        left, right = xs.min(), xs.max() + 1
        tiles = [_tile(image) for image in (source, before, after)]
        tiles += [_tile(image[top:bottom, left:right]) for image in (before, after)]
        line = np.concatenate(tiles, axis=1)
        cv2.putText(line, name, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        lines.append(line)
    width = max(line.shape[1] for line in lines)
    return np.concatenate([np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0))) for line in lines], axis=0)


def _tile(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = TILE_HEIGHT / height
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    return cv2.resize(image, (max(1, round(width * scale)), TILE_HEIGHT), interpolation=interpolation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=Path, default=SHARED / "faces" / "dev", help="folder of <person>/<n>.jpg")
    parser.add_argument("--matting-out", type=Path, default=Path("/tmp/matting"), help="folder for the sheet")
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL_PATH.is_file():
        print(f"{DEFAULT_MODEL_PATH} is missing: run `make models/modnet.onnx` first", file=sys.stderr)
        return 2
    run(args.faces, args.matting_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
