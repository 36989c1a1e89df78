"""The klein model itself: what a deployment chooses (KleinConfig), loading the three models from the store with
local files only (load_klein), and one batched model call (generate). The backend (klein.py) decides what to ask."""
from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from .components import load_finishers, torch_dtype
from .copy_guard import MAX_FACE_CORRELATION
from .klein_prompt import MAX_REFERENCES
from .model_store import KLEIN_MODELS, ModelStore
from .studio_backed import check_model_settings

# Text embeddings kept per loaded model (a kit's instructions repeat for every employee).
_PROMPT_CACHE_SIZE = 256


@dataclass(frozen=True)
class KleinConfig:
    """Everything a deployment chooses about the klein backend; recorded with every output."""

    store: Path
    device: str = "cpu"
    dtype: str = "float32"                # "bfloat16" on GPUs (DIFFUSION_DTYPE)
    compile: bool = False                 # torch.compile the transformer (GPU; slow first call)
    generation_long_side: int = 1024
    steps: int = 4                        # the distilled model's step count
    batch_size: int = 4                   # variants per model call (they share the references)
    max_variants: int = 96                # a cap per deployment; the kit's variants_per_person decides below it
    max_sequence_length: int = 512
    text_encoder_out_layers: tuple[int, ...] = (9, 18, 27)   # Qwen3 hidden states the transformer reads
    upscaler_model: str = "realesrgan-x4"
    appropriateness_model: str = "clip-appropriateness"
    max_face_correlation: float = MAX_FACE_CORRELATION
    verify: str = "sha256"

    def check(self) -> KleinConfig:
        check_model_settings(dtype=self.dtype, generation_long_side=self.generation_long_side,
                             max_variants=self.max_variants)
        if not 1 <= self.steps <= 100:
            raise ValueError("steps must be from 1 to 100")
        if not 1 <= self.batch_size <= 16:
            raise ValueError("batch_size must be from 1 to 16")
        if not self.text_encoder_out_layers:
            raise ValueError("text_encoder_out_layers must name at least one layer")
        if not 0.0 < self.max_face_correlation < 1.0:
            raise ValueError("max_face_correlation must be between 0 and 1")
        return self

    def as_params(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["store"] = str(self.store)
        data["text_encoder_out_layers"] = list(self.text_encoder_out_layers)
        return data


@dataclass
class KleinComponents:
    """The pipeline and its helpers, loaded once per worker (a Ray actor keeps them resident)."""

    pipe: Any                                  # diffusers.Flux2KleinPipeline
    config: KleinConfig
    upscaler: Any
    scorer: Any | None
    scorer_missing: str | None
    models: dict[str, dict[str, Any]]
    store: ModelStore | None
    # Text embeddings per instruction: a kit's prompts repeat for every employee, so they are encoded once.
    prompt_cache: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    prompt_cache_hits: int = 0

    @property
    def size_multiple(self) -> int:
        return int(self.pipe.vae_scale_factor * 2)


def load_klein(config: KleinConfig, store: ModelStore | None = None) -> KleinComponents:
    """The three klein models from the store, local files only; a missing or corrupt one raises ModelStoreError."""
    # lazy: diffusers and transformers take seconds to import, and only loading the models needs them
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import AutoTokenizer, Qwen3ForCausalLM  # lazy: see diffusers above

    config.check()
    store = store or ModelStore(config.store, verify=config.verify)
    dtype = torch_dtype(config.dtype)
    used: dict[str, dict[str, Any]] = {}
    folders = {}
    for name in KLEIN_MODELS:  # verify all three before loading any: a bad store fails in seconds, not minutes
        model = store.get(name)
        used[name] = model.as_params()
        folders[name] = str(model.path)
    transformer = Flux2Transformer2DModel.from_pretrained(folders["klein-4b-transformer"], subfolder="transformer",
                                                          dtype=dtype, local_files_only=True)
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(folders["klein-4b-transformer"], subfolder="scheduler",
                                                                local_files_only=True)
    vae = AutoencoderKLFlux2.from_pretrained(folders["klein-4b-vae"], subfolder="vae", dtype=dtype,
                                             local_files_only=True)
    text_encoder = Qwen3ForCausalLM.from_pretrained(folders["klein-4b-text-encoder"], subfolder="text_encoder",
                                                    dtype=dtype, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folders["klein-4b-text-encoder"], subfolder="tokenizer",
                                              local_files_only=True)
    pipe = Flux2KleinPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                              transformer=transformer, is_distilled=True)
    pipe.to(config.device)
    pipe.set_progress_bar_config(disable=True)
    if config.compile:
        pipe.transformer = torch.compile(pipe.transformer)

    upscaler, scorer, missing = load_finishers(store, used, upscaler_model=config.upscaler_model,
                                               appropriateness_model=config.appropriateness_model,
                                               device=config.device, dtype=dtype)
    return KleinComponents(pipe=pipe, config=config, upscaler=upscaler, scorer=scorer, scorer_missing=missing,
                           models=used, store=store)


def prompt_embeddings(components: KleinComponents, prompt: str) -> Any:
    """The instruction's text embedding, from the cache when this kit's prompt was encoded before."""
    cache = components.prompt_cache
    if prompt in cache:
        cache.move_to_end(prompt)
        components.prompt_cache_hits += 1
        return cache[prompt]
    pipe, config = components.pipe, components.config
    # Encoded alone, never in a batch: the embedding is the same whichever variants share the call.
    embeds, _ = pipe.encode_prompt(prompt=prompt, device=pipe._execution_device, num_images_per_prompt=1,
                                   max_sequence_length=config.max_sequence_length,
                                   text_encoder_out_layers=tuple(config.text_encoder_out_layers))
    cache[prompt] = embeds
    if len(cache) > _PROMPT_CACHE_SIZE:
        cache.popitem(last=False)
    return embeds


def generate(components: KleinComponents, *, references: Sequence[np.ndarray], prompts: Sequence[str],
             seeds: Sequence[int], size: tuple[int, int]) -> list[np.ndarray]:
    """One batched model call: the same references, one prompt and seed per image; uint8 images of `size`."""
    if not references or len(references) > MAX_REFERENCES + 1:
        raise ValueError(f"a call takes 1 to {MAX_REFERENCES + 1} reference images")
    if len(prompts) != len(seeds) or not prompts:
        raise ValueError("one seed per prompt, at least one prompt")
    pipe, config = components.pipe, components.config
    width, height = size
    embeds = torch.cat([prompt_embeddings(components, p) for p in prompts])
    # One generator per image: each variant's starting noise depends on its own seed only.
    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    result = pipe(image=[Image.fromarray(_reference_size(r, size)) for r in references], prompt_embeds=embeds,
                  height=height, width=width, num_inference_steps=config.steps, guidance_scale=1.0,
                  generator=generators, output_type="np", max_sequence_length=config.max_sequence_length,
                  text_encoder_out_layers=tuple(config.text_encoder_out_layers))
    return [np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8) for image in result.images]


def _reference_size(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A reference no larger than the generation's area (more pixels cost attention, add no identity), at least
    64 px on its short side (the pipeline's minimum)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, math.sqrt(size[0] * size[1] / float(width * height)))
    scale = max(scale, 64.0 / min(width, height))
    if abs(scale - 1.0) < 1e-6:
        return rgb
    target = (max(64, round(width * scale)), max(64, round(height * scale)))
    return cv2.resize(rgb, target, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
