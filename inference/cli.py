"""Command line: `python -m inference run --selfies DIR --out DIR [--brand-kit KIT.json | --preset NAME] [--variants
N]` writes ranked headshots and manifest.json; `python -m inference presets` lists the industry presets."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .brand import BrandSpec, BrandSpecError
from .errors import InferenceError
from .ingest import IngestLimits
from .presets import PRESETS
from .ranking import RankingModel
from .request import GenerationInput, GenerationOutput, SelfieInput

if TYPE_CHECKING:
    from .pipeline import HeadshotPipeline

EXIT_OK = 0
EXIT_INPUT = 2
MANIFEST_NAME = "manifest.json"
# Native start-up chatter from mediapipe/TFLite/absl that says nothing to a user; anything else is replayed.
_NATIVE_NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog|[WI]0000 \d\d:\d\d:)"
)


class CliError(Exception):
    """A user-facing problem with the command's inputs; main() prints it as one line and exits 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference", description="Corporate headshots from selfies.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="make headshots from a folder of one employee's selfies")
    run.add_argument("--selfies", required=True, type=Path, help="folder holding the employee's selfie photos")
    run.add_argument("--out", required=True, type=Path, help="folder to write the headshots and manifest.json into")
    kit = run.add_mutually_exclusive_group()
    kit.add_argument("--brand-kit", type=Path, help="brand spec JSON (BrandSpec.to_dict shape); default: neutral")
    kit.add_argument("--preset", help="start from an industry preset (see `python -m inference presets`)")
    run.add_argument("--variants", type=int, help="headshots per person (default: the kit's variants_per_person)")
    run.add_argument("--ranking", type=Path,
                     help="ranking model state JSON learnt from earlier selections (inference.ranking)")
    run.add_argument("--seed", type=int, default=0, help="base seed recorded with every headshot (default 0)")
    commands.add_parser("presets", help="list the industry presets and what each sets")
    return parser


def main(argv: list[str] | None = None, *, pipeline: HeadshotPipeline | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "presets":
        return print_presets()
    try:
        brand = load_brand_kit(args.brand_kit) if args.brand_kit else (
            load_preset(args.preset) if args.preset else BrandSpec())
        if args.variants is not None:
            brand = with_variant_count(brand, args.variants)
        ranking = load_ranking(args.ranking) if args.ranking else None
        selfies = read_selfie_folder(args.selfies)
        if pipeline is None:
            with _quiet_native_stderr():
                # lazy: the models' native start-up chatter is silenced here, and `presets` never loads them
                from .pipeline import HeadshotPipeline

                pipeline = HeadshotPipeline()
        with _quiet_native_stderr():
            result = pipeline.run(GenerationInput(selfies=selfies, brand=brand, seed=args.seed, ranking=ranking))
        manifest = write_outputs(result, args.out, brand)
    except (CliError, InferenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if not result.headshots:
        problems = "; ".join(f"{v.name}: {', '.join(v.reasons)}" for v in result.selfies)
        print(
            f"error: none of the {len(result.selfies)} photo(s) in {args.selfies} is usable ({problems}); "
            f"see {args.out / MANIFEST_NAME}",
            file=sys.stderr,
        )
        return EXIT_INPUT
    passed = sum(1 for entry in manifest["headshots"] if entry["passed"])
    regenerated = sum(1 for entry in manifest["headshots"] if entry["qc"].get("attempts"))
    print(
        f"wrote {len(result.headshots)} headshot(s) ({passed} passed QC, {regenerated} regenerated) from "
        f"{sum(v.accepted for v in result.selfies)} of {len(result.selfies)} photo(s) to {args.out}"
    )
    return EXIT_OK


def print_presets() -> int:
    for preset in PRESETS.values():
        print(f"{preset.name}: {preset.title}. {preset.description}")
    return EXIT_OK


def load_preset(name: str) -> BrandSpec:
    if name not in PRESETS:
        raise CliError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name].brand()


def with_variant_count(brand: BrandSpec, count: int) -> BrandSpec:
    try:
        return dataclasses.replace(brand, variants_per_person=count).check()
    except BrandSpecError as exc:
        raise CliError(f"--variants: {exc}") from None


def load_ranking(path: Path) -> dict[str, Any]:
    """Read and check a ranking model state (what the web app stores per brand kit)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        RankingModel.from_dict(data)
    except FileNotFoundError:
        raise CliError(f"ranking state {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise CliError(f"ranking state {path} is invalid: {exc}") from None
    return data


def load_brand_kit(path: Path) -> BrandSpec:
    """Read and check a brand kit JSON; a relative background image path is taken relative to the kit file."""
    if not path.is_file():
        raise CliError(f"brand kit {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CliError(f"brand kit {path} is not valid JSON "
                       f"(line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"brand kit {path} cannot be read: {exc}") from None
    try:
        brand = BrandSpec.from_dict(data)
    except BrandSpecError as exc:
        raise CliError(f"brand kit {path} is invalid: {exc}") from None
    def resolve(background):
        image_path = background.image_path
        if not image_path:
            return background
        resolved = (path.parent / image_path) if not Path(image_path).is_absolute() else Path(image_path)
        if not resolved.is_file():
            raise CliError(f"brand kit {path} is invalid: background image {image_path} does not exist")
        return dataclasses.replace(background, image_path=str(resolved))

    return dataclasses.replace(brand, background=resolve(brand.background),
                               extra_backgrounds=tuple(resolve(b) for b in brand.extra_backgrounds))


def read_selfie_folder(folder: Path, limits: IngestLimits | None = None) -> tuple[SelfieInput, ...]:
    """Every visible regular file of the folder (not recursive), sorted by name; the decoder judges the contents."""
    from .checks import MAX_SELFIES  # lazy: checks.py loads dlib and OpenCV, which `presets` never needs

    limits = limits or IngestLimits()
    if not folder.exists():
        raise CliError(f"selfie folder {folder} does not exist")
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise CliError(f"selfie folder {folder} holds no photos")
    if len(files) > MAX_SELFIES:
        raise CliError(f"selfie folder {folder} holds {len(files)} files; at most {MAX_SELFIES} per run")
    selfies = []
    for file in files:
        with file.open("rb") as handle:
            # One byte past the limit is enough for the decoder to report too_large without reading a huge file.
            selfies.append(SelfieInput(name=file.name, data=handle.read(limits.max_bytes + 1)))
    return tuple(selfies)


def write_outputs(result: GenerationOutput, out: Path, brand: BrandSpec) -> dict[str, Any]:
    """Write master PNGs, JPEG renditions and manifest.json; returns the manifest."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    stems = _output_stems([v.name for v in result.selfies])
    headshots = []
    for headshot in result.headshots:
        base = f"{stems[headshot.source]}-{_safe(headshot.variant)}"
        master_name = f"{base}.png"
        renditions = []
        _write(out / master_name, headshot.image)
        for rendition in headshot.renditions:
            name = f"{base}-{rendition.width}.jpg"
            _write(out / name, rendition.data)
            renditions.append({"file": name, "width": rendition.width, "height": rendition.height,
                               "format": rendition.format})
        headshots.append({
            "file": master_name,
            "source": headshot.source,
            "variant": headshot.variant,
            "qc": headshot.qc,
            "passed": headshot.passed,
            "rank": headshot.rank,
            "ranking_score": headshot.ranking_score,
            "renditions": renditions,
            "params": headshot.params,
        })
    manifest = {
        "selfies": [
            {"file": v.name, "accepted": v.accepted, "reasons": list(v.reasons), "messages": list(v.messages)}
            for v in result.selfies
        ],
        "headshots": headshots,
        # Variants made but not delivered (the same image as a delivered one), each with its reason.
        "dropped": [{k: v for k, v in d.items() if k != "attempts"} for d in result.dropped],
        "brand": {"name": brand.name, "version": brand.version, "preset": brand.preset,
                  "variants_per_person": brand.variants_per_person},
    }
    _write(out / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def _output_stems(names: list[str]) -> dict[str, str]:
    """File stem per selfie name; `a.jpg` and `a.png` in one folder keep their extension to stay distinct."""
    plain = {name: _safe(Path(name).stem) for name in names}
    clashes = {stem for stem in plain.values() if list(plain.values()).count(stem) > 1}
    return {name: (_safe(name) if stem in clashes else stem) for name, stem in plain.items()}


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Hold back what native libraries print on fd 2, then replay everything but their known start-up chatter."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreter): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if not _NATIVE_NOISE.match(line):
                    print(line, file=sys.stderr)
