"""Loads the diffusion components from the model store (local files only) and runs one denoising pass."""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from .appropriateness import AppropriatenessScorer
from .model_store import ModelStore, ModelStoreError, StoredModel
from .studio_backed import check_model_settings
from .upscaler import RRDBNet, Upscaler, load_weights

logger = logging.getLogger(__name__)

CONTROL_KINDS = ("landmarks", "depth", "canny")
FACE_MODES = ("generate", "keep")


@dataclass(frozen=True)
class VariantDefaults:
    """A base model plus what makes it few-step: a replacement UNet or a LoRA, its scheduler, steps and guidance."""

    model: str
    steps: int
    guidance_scale: float
    scheduler: str
    unet: str | None = None
    lora: str | None = None


# Steps and guidance from each model card: Lightning 4-step (trailing Euler, no CFG), LCM-LoRA 4-8 steps at
# guidance 1-2, Turbo 1-4 steps without CFG, the base model 25-50 steps at guidance 5-7.
VARIANTS: dict[str, VariantDefaults] = {
    "base": VariantDefaults("sdxl-base", 30, 5.0, "euler"),
    "lightning": VariantDefaults("sdxl-base", 4, 0.0, "euler_trailing", unet="sdxl-lightning"),
    "lcm": VariantDefaults("sdxl-base", 6, 1.5, "lcm", lora="lcm-lora-sdxl"),
    "turbo": VariantDefaults("sdxl-turbo", 4, 0.0, "euler_ancestral_trailing"),
}


@dataclass(frozen=True)
class DiffusionConfig:
    """Everything a deployment chooses about the diffusion backend; recorded with every output."""

    store: Path
    variant: str = "lightning"
    # "generate": the person is repainted and the identity adapter carries the face (needs an identity adapter);
    # "keep": the selfie's own face pixels stay, diffusion repaints clothing, hair edge and lighting around them.
    face_mode: str = "generate"
    identity_adapter: str | None = "ip-adapter-faceid"
    identity_scale: float = 0.8
    controls: tuple[str, ...] = CONTROL_KINDS
    control_scales: tuple[float, ...] = (0.8, 0.5, 0.4)
    face_encoder: str = "auto"            # "auto" | "arcface" | "dlib"
    arcface_model: str = "insightface-antelopev2"
    upscaler_model: str = "realesrgan-x4"
    appropriateness_model: str = "clip-appropriateness"
    vae_model: str | None = "vae-fp16-fix"
    # Brand kit name -> (store name of its LoRA, strength); fused while that kit's headshots are made.
    kit_loras: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    device: str = "cpu"
    dtype: str = "float32"                # "float16" on GPUs
    compile: bool = False                 # torch.compile the UNet and ControlNets (GPU; slow first call)
    generation_long_side: int = 1024
    steps: int | None = None              # None: the variant's default
    guidance_scale: float | None = None
    portrait_strength: float = 0.9
    attire_strength: float = 0.99
    attire_pass: bool = True
    max_variants: int = 4
    verify: str = "sha256"

    def check(self) -> DiffusionConfig:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}")
        if self.face_mode not in FACE_MODES:
            raise ValueError(f"face_mode must be one of {', '.join(FACE_MODES)}")
        if self.face_mode == "generate" and not self.identity_adapter:
            raise ValueError("face_mode 'generate' needs an identity_adapter; use face_mode 'keep' without one")
        if not self.controls or any(c not in CONTROL_KINDS for c in self.controls):
            raise ValueError(f"controls must name one or more of {', '.join(CONTROL_KINDS)}")
        if len(self.control_scales) != len(self.controls):
            raise ValueError("control_scales needs one scale per control")
        check_model_settings(dtype=self.dtype, generation_long_side=self.generation_long_side,
                             max_variants=self.max_variants)
        for name, value in (("portrait_strength", self.portrait_strength), ("attire_strength", self.attire_strength)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        return self

    def as_params(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["store"] = str(self.store)
        data["controls"] = list(self.controls)
        data["control_scales"] = list(self.control_scales)
        data["kit_loras"] = {k: list(v) for k, v in self.kit_loras.items()}
        return data


@dataclass
class Components:
    pipe: Any                                  # StableDiffusionXLControlNetInpaintPipeline
    config: DiffusionConfig
    variant: VariantDefaults
    identity_dim: int | None                   # embedding size the identity adapter takes; None: no adapter
    upscaler: Any                              # upscaler.Upscaler
    scorer: Any | None                         # appropriateness.AppropriatenessScorer, or None ...
    scorer_missing: str | None                 # ... and why
    models: dict[str, dict[str, Any]]          # every store model used, with revision and licence
    size_multiple: int                         # generation width and height must be multiples of this
    store: ModelStore
    active_lora: tuple[str, float] | None = None
    _lora_deltas: list = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.config.steps or self.variant.steps

    @property
    def guidance_scale(self) -> float:
        return self.variant.guidance_scale if self.config.guidance_scale is None else self.config.guidance_scale


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def weight_file(model: StoredModel, suffixes: Sequence[str] = (".safetensors", ".bin", ".pth", ".pt")) -> str:
    """The one weight file of a single-file model (a UNet swap, a LoRA, an adapter, an upscaler)."""
    found = sorted(f for f in model.files if f.endswith(tuple(suffixes)))
    if len(found) != 1:
        raise ModelStoreError(model.name, f"should hold exactly one weight file, holds {found}", model.path.parent)
    return found[0]


def load_finishers(store: ModelStore, used: dict[str, dict[str, Any]], *, upscaler_model: str | None,
                   appropriateness_model: str | None, device: str,
                   dtype: torch.dtype) -> tuple[Upscaler, AppropriatenessScorer | None, str | None]:
    """What both generative backends load after their pipeline: the upscaler (the plain one where the store lacks
    the model) and the appropriateness scorer (None, with why, where it lacks that one); each model taken is
    recorded in used."""
    if upscaler_model and store.has(upscaler_model):
        model = store.get(upscaler_model)
        used[upscaler_model] = model.as_params()
        net = RRDBNet.from_state_dict(load_weights(model.path / weight_file(model)))
        upscaler = Upscaler(net, name=upscaler_model, device=device, dtype=dtype)
    else:
        upscaler = Upscaler()
    scorer, missing = None, None
    if appropriateness_model and store.has(appropriateness_model):
        model = store.get(appropriateness_model)
        used[appropriateness_model] = model.as_params()
        scorer = AppropriatenessScorer.load(model.path, name=appropriateness_model, device=device)
    else:
        missing = f"model {appropriateness_model!r} is not in the model store {store.root}"
    return upscaler, scorer, missing


def make_scheduler(kind: str, config: Mapping[str, Any]) -> Any:
    from diffusers import (  # lazy: see load_components
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        LCMScheduler,
    )

    if kind == "euler":
        return EulerDiscreteScheduler.from_config(config)
    if kind == "euler_trailing":
        return EulerDiscreteScheduler.from_config(config, timestep_spacing="trailing")
    if kind == "euler_ancestral_trailing":
        return EulerAncestralDiscreteScheduler.from_config(config, timestep_spacing="trailing")
    if kind == "lcm":
        return LCMScheduler.from_config(config)
    raise ValueError(f"unknown scheduler {kind!r}")


def load_components(config: DiffusionConfig, store: ModelStore | None = None) -> Components:
    """Every model from the store with local_files_only=True; a missing or corrupt one raises ModelStoreError."""
    # lazy: diffusers takes seconds to import; only loading the models needs it (not the configs, not LoRA maths)
    from diffusers import AutoencoderKL, ControlNetModel, StableDiffusionXLControlNetInpaintPipeline
    from diffusers.models.controlnets import MultiControlNetModel  # lazy: as above

    config.check()
    store = store or ModelStore(config.store, verify=config.verify)
    dtype = torch_dtype(config.dtype)
    variant = VARIANTS[config.variant]
    used: dict[str, dict[str, Any]] = {}

    def take(name: str) -> StoredModel:
        model = store.get(name)
        used[name] = model.as_params()
        return model

    base = take(variant.model)
    controlnets = []
    for kind in config.controls:
        model = take(f"controlnet-{kind}")
        controlnets.append(ControlNetModel.from_pretrained(str(model.path), dtype=dtype, local_files_only=True,
                                                           variant=model.weights_variant))
    extra: dict[str, Any] = {}
    if config.vae_model and store.has(config.vae_model):
        vae = take(config.vae_model)
        extra["vae"] = AutoencoderKL.from_pretrained(str(vae.path), dtype=dtype, local_files_only=True,
                                                     variant=vae.weights_variant)
    pipe = StableDiffusionXLControlNetInpaintPipeline.from_pretrained(
        str(base.path), controlnet=MultiControlNetModel(controlnets), dtype=dtype, local_files_only=True,
        variant=base.weights_variant, **extra)
    if variant.unet:
        unet = take(variant.unet)
        pipe.unet.load_state_dict(load_file(str(unet.path / weight_file(unet, (".safetensors",)))), strict=True)
    if variant.lora:
        lora = take(variant.lora)
        fuse_lora(pipe, lora.path / weight_file(lora, (".safetensors",)), 1.0)
    pipe.scheduler = make_scheduler(variant.scheduler, pipe.scheduler.config)

    identity_dim = None
    if config.face_mode == "generate" and config.identity_adapter:
        adapter = take(config.identity_adapter)
        pipe.load_ip_adapter(str(adapter.path), subfolder="", weight_name=weight_file(adapter),
                             image_encoder_folder=None, local_files_only=True)
        pipe.set_ip_adapter_scale(config.identity_scale)
        projection = pipe.unet.encoder_hid_proj.image_projection_layers[0]
        identity_dim = int(projection.ff.net[0].proj.in_features)

    pipe.to(config.device)
    pipe.set_progress_bar_config(disable=True)
    if config.compile:
        pipe.unet = torch.compile(pipe.unet)
        pipe.controlnet = torch.compile(pipe.controlnet)

    upscaler, scorer, missing = load_finishers(store, used, upscaler_model=config.upscaler_model,
                                               appropriateness_model=config.appropriateness_model,
                                               device=config.device, dtype=dtype)
    multiple = pipe.vae_scale_factor * 2 ** (len(pipe.unet.config.block_out_channels) - 1)
    return Components(pipe=pipe, config=config, variant=variant, identity_dim=identity_dim, upscaler=upscaler,
                      scorer=scorer, scorer_missing=missing, models=used, size_multiple=int(multiple), store=store)


# -- LoRA, fused into the weights (no peft needed; no per-step adapter cost) -----------------------------------


def fuse_lora(pipe: Any, path: Path, scale: float) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
    """Add scale * B @ A (x alpha / rank) to every targeted weight; returns the deltas so unfuse_lora can undo it.

    Reads diffusers/peft-format LoRA files ("unet.<module>.lora_A.weight") and, through diffusers' converter,
    kohya-format ones ("lora_unet_..."; LCM-LoRA is one).
    """
    from diffusers import StableDiffusionXLPipeline  # lazy: see load_components

    state, alphas = StableDiffusionXLPipeline.lora_state_dict(str(path))
    alphas = alphas or {}
    roots = {"unet": pipe.unet, "text_encoder": pipe.text_encoder, "text_encoder_2": pipe.text_encoder_2}
    deltas = []
    for key, down in state.items():
        if ".lora_A." not in key and ".lora.down." not in key:
            continue
        up_key = key.replace(".lora_A.", ".lora_B.").replace(".lora.down.", ".lora.up.")
        prefix, _, rest = key.partition(".")
        module_name = rest.split(".lora_A.")[0].split(".lora.down.")[0]
        root = roots.get(prefix)
        if root is None:
            raise ValueError(f"LoRA {path.name}: key {key!r} targets an unknown component {prefix!r}")
        module = root.get_submodule(module_name)
        weight = module.weight
        up = state[up_key].to(torch.float32)
        down = down.to(torch.float32)
        rank = down.shape[0]
        alpha = float(state.get(f"{prefix}.{module_name}.alpha", alphas.get(f"{prefix}.{module_name}.alpha", rank)))
        if weight.ndim == 4 and down.ndim == 4:   # a conv LoRA: (out, r, 1, 1) @ (r, in, k, k)
            delta = torch.einsum("or,rikl->oikl", up[:, :, 0, 0], down)
        else:
            delta = up @ down
        delta = (scale * alpha / rank * delta).to(weight.dtype).to(weight.device).reshape(weight.shape)
        with torch.no_grad():
            weight.add_(delta)
        deltas.append((weight, delta))
    if not deltas:
        raise ValueError(f"LoRA {path.name} holds no lora_A/lora_B weights")
    return deltas


def unfuse_lora(deltas: list[tuple[torch.nn.Parameter, torch.Tensor]]) -> None:
    with torch.no_grad():
        for weight, delta in deltas:
            weight.sub_(delta)


def use_kit_lora(components: Components, brand_name: str) -> tuple[str, float] | None:
    """Fuse the brand kit's LoRA (config.kit_loras) and unfuse the previous kit's; returns what is now active."""
    wanted = components.config.kit_loras.get(brand_name)
    wanted = None if wanted is None else (str(wanted[0]), float(wanted[1]))
    if wanted == components.active_lora:
        return wanted
    if components._lora_deltas:
        unfuse_lora(components._lora_deltas)
        components._lora_deltas = []
    components.active_lora = None
    if wanted is not None:
        model = components.store.get(wanted[0])
        components.models[wanted[0]] = model.as_params()
        components._lora_deltas = fuse_lora(components.pipe, model.path / weight_file(model, (".safetensors",)),
                                            wanted[1])
        components.active_lora = wanted
    return wanted


# -- one denoising pass ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffusionPass:
    """One call of the inpainting ControlNet pipeline; as_params() is what reproduces it."""

    prompt: str
    negative_prompt: str
    image: np.ndarray                 # uint8 H x W x 3, the starting picture (kept where mask is 0)
    mask: np.ndarray                  # float 0..1 H x W: where the model may paint
    controls: tuple[np.ndarray, ...]  # one uint8 control image per ControlNet
    control_scales: tuple[float, ...]
    seed: int
    steps: int
    guidance_scale: float
    strength: float
    identity: np.ndarray | None = None   # the face embedding for the identity adapter
    identity_scale: float = 0.0

    def as_params(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "negative_prompt": self.negative_prompt, "seed": self.seed,
                "steps": self.steps, "guidance_scale": self.guidance_scale, "strength": self.strength,
                "control_scales": list(self.control_scales), "identity_scale": self.identity_scale,
                "identity_embedding_dim": None if self.identity is None else int(np.asarray(self.identity).size),
                "size": [int(self.image.shape[1]), int(self.image.shape[0])]}


def run_pass(pipe: Any, spec: DiffusionPass, *, device: str = "cpu") -> np.ndarray:
    """The pass's image, uint8 at the input's size; the same spec and weights give the same pixels."""
    height, width = spec.image.shape[:2]
    kwargs: dict[str, Any] = {}
    if spec.identity is not None:
        dtype = pipe.unet.dtype
        embedding = torch.as_tensor(np.asarray(spec.identity, np.float32)).reshape(1, 1, -1).to(device, dtype)
        if spec.guidance_scale > 1.0:  # classifier-free guidance: the unconditional half gets a zero face
            embedding = torch.cat([torch.zeros_like(embedding), embedding])
        kwargs["ip_adapter_image_embeds"] = [embedding]
        pipe.set_ip_adapter_scale(spec.identity_scale)
    generator = torch.Generator(device="cpu").manual_seed(int(spec.seed))
    mask = Image.fromarray(np.round(np.clip(spec.mask, 0, 1) * 255).astype(np.uint8))
    result = pipe(
        prompt=spec.prompt, negative_prompt=spec.negative_prompt or None, image=Image.fromarray(spec.image),
        mask_image=mask, control_image=[Image.fromarray(c) for c in spec.controls],
        controlnet_conditioning_scale=list(spec.control_scales), height=height, width=width,
        num_inference_steps=spec.steps, guidance_scale=spec.guidance_scale, strength=spec.strength,
        generator=generator, output_type="np", **kwargs)
    return np.round(np.clip(result.images[0], 0.0, 1.0) * 255.0).astype(np.uint8)
