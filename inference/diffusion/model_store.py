"""The local model store: a folder of pinned model snapshots plus a manifest (id, revision, sha256 per file,
licence)."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InferenceError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
FETCH_SCRIPT = "deploy/fetch_models.py"
# Hash in 8 MiB chunks: large enough for disk throughput, small enough to never hold a 5 GB UNet in memory.
_HASH_CHUNK = 8 << 20


class ModelStoreError(InferenceError):
    """A model is missing from the store, or its files don't match the manifest; says how to fetch it."""

    def __init__(self, model: str, problem: str, store: Path | str) -> None:
        self.model = model
        self.problem = problem
        self.store = str(store)
        self.fetch_command = f"python {FETCH_SCRIPT} --store {self.store} --models {model}"
        super().__init__(f"model {model!r} {problem} (model store {self.store}); fetch it with: {self.fetch_command}")

    def __reduce__(self):  # keep the fields across Ray / multiprocessing boundaries
        return (type(self), (self.model, self.problem, self.store))


@dataclass(frozen=True)
class CatalogueEntry:
    """One model the backend can use: where it comes from (pinned), what it is for, and what its licence allows."""

    name: str                       # store name and role, e.g. "sdxl-base"
    repo_id: str                    # Hugging Face model id
    revision: str                   # commit (pin) or branch; the manifest records the resolved commit
    kind: str                       # "sdxl", "unet", "lora", "controlnet", "ip_adapter", "face_recognition", ...
    licence: str
    commercial_use: bool
    allow_patterns: tuple[str, ...] = ()   # files to take from the repo (empty = all)
    note: str = ""
    weights_variant: str | None = None     # diffusers variant ("fp16") the store holds, when not the default


@dataclass(frozen=True)
class StoredModel:
    """A manifest entry: the model's folder in the store and the sha256 of every file it holds."""

    name: str
    path: Path
    repo_id: str
    revision: str
    kind: str
    licence: str
    commercial_use: bool
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    weights_variant: str | None = None

    def as_params(self) -> dict[str, Any]:
        """What a generated headshot records about the models that made it."""
        return {"name": self.name, "repo_id": self.repo_id, "revision": self.revision, "licence": self.licence,
                "commercial_use": self.commercial_use}


class ModelStore:
    """Reads the manifest once; get() returns a verified model folder or raises ModelStoreError naming the model."""

    def __init__(self, root: Path | str, *, verify: str = "sha256") -> None:
        if verify not in ("sha256", "size"):
            raise ValueError("verify must be 'sha256' (hash every file once per process) or 'size'")
        self.root = Path(root)
        self.verify = verify
        self._verified: set[str] = set()
        manifest = self.root / MANIFEST_NAME
        if not manifest.is_file():
            self._models: dict[str, dict[str, Any]] = {}
            self._missing_manifest = True
            return
        self._missing_manifest = False
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise ModelStoreError("manifest", f"is unreadable: {exc}", self.root) from None
        if data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("models"), dict):
            raise ModelStoreError("manifest", f"is not a format-{MANIFEST_FORMAT} manifest", self.root)
        self._models = data["models"]

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._models))

    def has(self, name: str) -> bool:
        return name in self._models

    def get(self, name: str) -> StoredModel:
        """The model's verified folder; a missing entry, file, or hash mismatch raises ModelStoreError."""
        if name not in self._models:
            problem = ("is missing: the store has no manifest.json" if self._missing_manifest
                       else "is missing from the manifest")
            raise ModelStoreError(name, problem, self.root)
        entry = self._models[name]
        model = StoredModel(
            name=name, path=self.root / entry.get("path", name), repo_id=entry.get("repo_id", ""),
            revision=entry.get("revision", ""), kind=entry.get("kind", ""), licence=entry.get("licence", "unknown"),
            commercial_use=bool(entry.get("commercial_use", False)), files=entry.get("files", {}),
            weights_variant=entry.get("weights_variant"),
        )
        if name not in self._verified:
            check_files(model, self.verify, self.root)
            self._verified.add(name)
        return model


def check_files(model: StoredModel, verify: str, store: Path) -> None:
    """Every manifest file exists with its size (and, for "sha256", its hash)."""
    if not model.files:
        raise ModelStoreError(model.name, "has no files in the manifest", store)
    for relative, meta in sorted(model.files.items()):
        path = model.path / relative
        if not path.is_file():
            raise ModelStoreError(model.name, f"is incomplete: {relative} is missing", store)
        size = path.stat().st_size
        if "size" in meta and size != int(meta["size"]):
            raise ModelStoreError(model.name, f"is corrupt: {relative} has {size} bytes, the manifest says "
                                              f"{meta['size']}", store)
        if verify == "sha256":
            digest = sha256_file(path)
            if digest != meta.get("sha256"):
                raise ModelStoreError(model.name, f"is corrupt: sha256 of {relative} is {digest[:12]}..., the "
                                                  f"manifest says {str(meta.get('sha256'))[:12]}...", store)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_folder(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under folder, keyed by its POSIX path relative to folder."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative.startswith(".cache/") or "/.cache/" in relative:  # huggingface_hub's download bookkeeping
            continue
        files[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return files


def write_manifest(root: Path, entries: Iterable[tuple[CatalogueEntry, str]], *, merge: bool = True) -> Path:
    """Hash each model folder (root/<name>) and write manifest.json; entries are (catalogue entry, resolved
    revision)."""
    root = Path(root)
    manifest_path = root / MANIFEST_NAME
    models: dict[str, Any] = {}
    if merge and manifest_path.is_file():
        models = json.loads(manifest_path.read_text()).get("models", {})
    for entry, revision in entries:
        models[entry.name] = {
            "path": entry.name, "repo_id": entry.repo_id, "revision": revision, "kind": entry.kind,
            "licence": entry.licence, "commercial_use": entry.commercial_use, "note": entry.note,
            "weights_variant": entry.weights_variant, "files": describe_folder(root / entry.name),
        }
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"format": MANIFEST_FORMAT, "models": models}, indent=1, sort_keys=True))
    os.replace(tmp, manifest_path)  # a crash mid-write never leaves half a manifest
    return manifest_path


# What deploy/fetch_models.py can fetch. Revisions: "main" until the first fetch on a connected machine resolves
# them; fetch_models.py records the resolved commit in the manifest, and that commit is what a deployment pins.
CATALOGUE: dict[str, CatalogueEntry] = {e.name: e for e in (
    CatalogueEntry("sdxl-base", "stabilityai/stable-diffusion-xl-base-1.0", "main", "sdxl",
                   "CreativeML Open RAIL++-M", True,
                   ("model_index.json", "*/config.json", "scheduler/*", "tokenizer*/*", "*/*.fp16.safetensors"),
                   weights_variant="fp16"),
    CatalogueEntry("sdxl-turbo", "stabilityai/sdxl-turbo", "main", "sdxl",
                   "Stability AI Non-Commercial Research Community Licence", False,
                   ("model_index.json", "*/config.json", "scheduler/*", "tokenizer*/*", "*/*.fp16.safetensors"),
                   note="512 px, 1-4 steps, guidance 0; commercial use needs a Stability membership",
                   weights_variant="fp16"),
    CatalogueEntry("sdxl-lightning", "ByteDance/SDXL-Lightning", "main", "unet", "OpenRAIL++-M", True,
                   ("sdxl_lightning_4step_unet.safetensors",), note="4-step distilled UNet for sdxl-base"),
    CatalogueEntry("lcm-lora-sdxl", "latent-consistency/lcm-lora-sdxl", "main", "lora", "OpenRAIL++-M", True,
                   ("pytorch_lora_weights.safetensors",), note="4-8 steps, guidance 1-2, LCMScheduler"),
    CatalogueEntry("vae-fp16-fix", "madebyollin/sdxl-vae-fp16-fix", "main", "vae", "MIT", True,
                   ("config.json", "diffusion_pytorch_model.safetensors"),
                   note="SDXL's own VAE overflows in fp16; this one doesn't"),
    CatalogueEntry("controlnet-canny", "diffusers/controlnet-canny-sdxl-1.0", "main", "controlnet",
                   "OpenRAIL++-M", True, ("config.json", "diffusion_pytorch_model.fp16.safetensors"),
                   weights_variant="fp16"),
    CatalogueEntry("controlnet-depth", "diffusers/controlnet-depth-sdxl-1.0", "main", "controlnet",
                   "OpenRAIL++-M", True, ("config.json", "diffusion_pytorch_model.fp16.safetensors"),
                   weights_variant="fp16"),
    CatalogueEntry("controlnet-landmarks", "thibaud/controlnet-openpose-sdxl-1.0", "main", "controlnet",
                   "OpenRAIL++-M (check the model card)", True,
                   ("config.json", "diffusion_pytorch_model.safetensors"),
                   note="pose ControlNet; conditioning.py draws face/shoulder keypoints in OpenPose colours"),
    CatalogueEntry("ip-adapter-faceid", "h94/IP-Adapter-FaceID", "main", "ip_adapter",
                   "IP-Adapter-FaceID: non-commercial research (needs insightface ArcFace embeddings)", False,
                   ("ip-adapter-faceid_sdxl.bin",), note="image_proj: 512-d ArcFace embedding -> 4 tokens"),
    CatalogueEntry("instantid", "InstantX/InstantID", "main", "identitynet",
                   "Apache-2.0 (code and weights); trained on antelopev2 embeddings (non-commercial)", False,
                   ("ControlNetModel/*", "ip-adapter.bin"), note="IdentityNet ControlNet + identity adapter"),
    CatalogueEntry("insightface-antelopev2", "DIAMONIK7777/antelopev2", "main", "face_recognition",
                   "insightface model packs: non-commercial research only", False, ("glintr100.onnx",),
                   note="community mirror of insightface's antelopev2 recognition model (ArcFace R100)"),
    CatalogueEntry("realesrgan-x4", "ai-forever/Real-ESRGAN", "main", "upscaler", "BSD-3-Clause", True,
                   ("RealESRGAN_x4.pth",), note="RRDBNet x4 (23 blocks, 64 features)"),
    CatalogueEntry("clip-appropriateness", "openai/clip-vit-base-patch32", "main", "clip", "MIT", True,
                   ("config.json", "*.safetensors", "tokenizer*", "vocab.json", "merges.txt",
                    "preprocessor_config.json", "special_tokens_map.json")),
)}

# FLUX.2 [klein] 4B (Black Forest Labs): Apache-2.0 code and weights, the 4-step distilled release. One repository
# in diffusers' layout, fetched as three store models so a missing or corrupt part names itself. Its 9B sibling and
# FLUX.2 [dev] are under the FLUX non-commercial licence: they are deliberately not in this catalogue.
KLEIN_REPO = "black-forest-labs/FLUX.2-klein-4B"
KLEIN_LICENCE = "Apache-2.0"
for _entry in (
    CatalogueEntry("klein-4b-transformer", KLEIN_REPO, "main", "flux2_transformer", KLEIN_LICENCE, True,
                   ("model_index.json", "transformer/*", "scheduler/*"),
                   note="4-step distilled rectified-flow transformer (5 double + 20 single blocks), its scheduler"),
    CatalogueEntry("klein-4b-vae", KLEIN_REPO, "main", "flux2_vae", KLEIN_LICENCE, True, ("vae/*",),
                   note="AutoencoderKLFlux2 (32 latent channels, 8x)"),
    CatalogueEntry("klein-4b-text-encoder", KLEIN_REPO, "main", "qwen3_text_encoder", KLEIN_LICENCE, True,
                   ("text_encoder/*", "tokenizer/*"), note="Qwen3 4B text encoder and its tokenizer"),
):
    CATALOGUE[_entry.name] = _entry

KLEIN_MODELS = ("klein-4b-transformer", "klein-4b-vae", "klein-4b-text-encoder")
# The commercially safe SDXL set (the `diffusion` backend, README): no insightface, no IP-Adapter-FaceID, no Turbo.
SDXL_COMMERCIAL = ("sdxl-base", "sdxl-lightning", "vae-fp16-fix", "controlnet-canny", "controlnet-depth",
                   "controlnet-landmarks", "realesrgan-x4", "clip-appropriateness")
# The commercially safe default for generating faces: FLUX.2 [klein] 4B re-photographs the person from their
# selfies under a licence companies may use; Real-ESRGAN upscales and CLIP scores appropriateness.
COMMERCIAL_DEFAULT = (*KLEIN_MODELS, "realesrgan-x4", "clip-appropriateness")
