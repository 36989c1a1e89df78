"""Fills the diffusion backend's model store from the Hugging Face Hub (run on a machine with internet), or verifies it.

    python deploy/fetch_models.py --store /srv/models           # the commercially safe default set:
                                                                # FLUX.2 [klein] 4B (Apache-2.0), Real-ESRGAN, CLIP
    python deploy/fetch_models.py --store /srv/models \\
        --models sdxl-base,sdxl-lightning,vae-fp16-fix,controlnet-canny,controlnet-depth,controlnet-landmarks
    python deploy/fetch_models.py --store /srv/models --models sdxl-base,controlnet-canny
    python deploy/fetch_models.py --store /srv/models --models ip-adapter-faceid --accept-non-commercial
    python deploy/fetch_models.py --store /srv/models --verify  # re-hash every file against the manifest
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from huggingface_hub import HfApi, snapshot_download

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.diffusion.model_store import (
    CATALOGUE,
    COMMERCIAL_DEFAULT,
    ModelStore,
    ModelStoreError,
    write_manifest,
)


def default_models() -> tuple[str, ...]:
    """What a plain run fetches: the commercially safe set for generating faces (klein, upscaler, CLIP)."""
    return COMMERCIAL_DEFAULT


def fetch(store: Path, names: list[str], *, accept_non_commercial: bool) -> int:
    api = HfApi()
    done = []
    for name in names:
        entry = CATALOGUE[name]
        if not entry.commercial_use and not accept_non_commercial:
            print(f"skip {name}: licence '{entry.licence}' forbids commercial use; pass --accept-non-commercial "
                  f"for research deployments", file=sys.stderr)
            continue
        # Resolve the branch to its commit first, then download exactly that commit: what the manifest records
        # is what was downloaded, even if the branch moves meanwhile.
        revision = api.model_info(entry.repo_id, revision=entry.revision).sha
        print(f"fetch {name}: {entry.repo_id}@{revision} ({entry.licence})", flush=True)
        snapshot_download(entry.repo_id, revision=revision, local_dir=store / name,
                          allow_patterns=list(entry.allow_patterns) or None)
        done.append((dataclasses.replace(entry, revision=revision), revision))
    if done:
        print(f"manifest: {write_manifest(store, done)}")
    return 0


def verify(store: Path) -> int:
    checked = ModelStore(store, verify="sha256")
    if not checked.names():
        print(f"{store} has no manifest or no models", file=sys.stderr)
        return 1
    failed = 0
    for name in checked.names():
        try:
            model = checked.get(name)
            flag = "commercial use OK" if model.commercial_use else "NON-COMMERCIAL"
            print(f"ok   {name}  {model.repo_id}@{model.revision}  {len(model.files)} files  [{flag}]")
        except ModelStoreError as exc:
            failed += 1
            print(f"FAIL {exc}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, type=Path, help="the model store folder (MODEL_STORE)")
    parser.add_argument("--models", default=",".join(default_models()),
                        help=f"comma-separated names; known: {', '.join(CATALOGUE)}")
    parser.add_argument("--verify", action="store_true", help="re-hash every file against the manifest, fetch nothing")
    parser.add_argument("--accept-non-commercial", action="store_true",
                        help="also fetch models whose licence forbids commercial use")
    args = parser.parse_args(argv)
    if args.verify:
        return verify(args.store)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)}")
    args.store.mkdir(parents=True, exist_ok=True)
    return fetch(args.store, names, accept_non_commercial=args.accept_non_commercial)


if __name__ == "__main__":
    sys.exit(main())
