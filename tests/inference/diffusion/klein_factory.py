"""Random-weight FLUX.2 [klein] parts built from configs, offline: tiny ones for CPU tests, full-size for GPU timing.

Like diffusers' own tests/pipelines/flux2, every component is built from a config in code; unlike them nothing
comes from a hub, the tokenizer included: a byte-level BPE vocabulary (every byte plus a few merges) and Qwen's
chat template are written here. `build_klein_store` saves the parts in the layout deploy/fetch_models.py writes.
"""
from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from inference.diffusion.model_store import CATALOGUE, write_manifest

from .sdxl_parts import byte_symbols

TINY_REVISION = "tiny-random"
# Qwen's chat template, reduced to what Flux2KleinPipeline uses (user turn, generation prompt, no thinking block).
CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MERGES = (("Ġ", "a"), ("h", "e"), ("Ġ", "t"), ("o", "n"), ("e", "r"))

# The tiny parts: one double and one single transformer block, a two-level VAE (x2 spatially, 4 latent channels, so
# the transformer takes 4 x 4 = 16 packed channels), a three-layer Qwen3 whose three hidden states (16 wide each)
# make the transformer's 48-wide text input.
TINY_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1, "in_channels": 16, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 16,
    "num_attention_heads": 2, "joint_attention_dim": 48, "timestep_guidance_channels": 32,
    "axes_dims_rope": (4, 4, 4, 4), "guidance_embeds": False,
}
TINY_VAE: dict[str, Any] = {
    "sample_size": 32, "in_channels": 3, "out_channels": 3, "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2, "block_out_channels": (8, 16), "layers_per_block": 1,
    "latent_channels": 4, "norm_num_groups": 4,
}
TINY_TEXT: dict[str, Any] = {
    "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2,
    "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 512,
}
TINY_OUT_LAYERS = (1, 2, 3)
TINY_ATTENTION_SHARPNESS = 4.0
TINY_MAX_SEQUENCE = 160  # long enough for the whole compiled instruction at one token per byte

# The published FLUX.2 [klein] 4B architecture (5 double + 20 single blocks, 24 heads of 128, 128 packed latent
# channels) and its Qwen3-4B text encoder (36 layers, 2560 wide; hidden states 9, 18 and 27 concatenated = 7680).
KLEIN_4B_TRANSFORMER: dict[str, Any] = {
    "patch_size": 1, "in_channels": 128, "num_layers": 5, "num_single_layers": 20, "attention_head_dim": 128,
    "num_attention_heads": 24, "joint_attention_dim": 7680, "timestep_guidance_channels": 256,
    "axes_dims_rope": (32, 32, 32, 32), "guidance_embeds": False,
}
KLEIN_4B_VAE: dict[str, Any] = {}  # AutoencoderKLFlux2's defaults are FLUX.2's VAE (32 latent channels, x8)
QWEN3_4B: dict[str, Any] = {
    "hidden_size": 2560, "intermediate_size": 9728, "num_hidden_layers": 36, "num_attention_heads": 32,
    "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 40960, "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
}
KLEIN_4B_OUT_LAYERS = (9, 18, 27)
QWEN_VOCAB = 151936


@dataclass
class KleinParts:
    transformer: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any

    def pipeline(self) -> Any:
        from diffusers import Flux2KleinPipeline

        return Flux2KleinPipeline(scheduler=self.scheduler, vae=self.vae, text_encoder=self.text_encoder,
                                  tokenizer=self.tokenizer, transformer=self.transformer, is_distilled=True)


def byte_level_tokenizer() -> Any:
    """A Qwen2 byte-level BPE tokenizer over every byte and a few merges, with Qwen's chat special tokens."""
    from transformers import Qwen2Tokenizer

    tokens = byte_symbols() + [a + b for a, b in MERGES]
    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=list(MERGES), unk_token=None, eos_token="<|im_end|>",
                               pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_klein(size: str = "tiny", *, seed: int = 0) -> KleinParts:
    """Every klein component with random weights: "tiny" (CPU tests) or "full" (the 4B architecture)."""
    from diffusers import AutoencoderKLFlux2, FlowMatchEulerDiscreteScheduler, Flux2Transformer2DModel
    from transformers import Qwen3Config, Qwen3ForCausalLM

    if size not in ("tiny", "full"):
        raise ValueError("size must be 'tiny' or 'full'")
    tiny = size == "tiny"
    tokenizer = byte_level_tokenizer()
    torch.manual_seed(seed)
    transformer = Flux2Transformer2DModel(**(TINY_TRANSFORMER if tiny else KLEIN_4B_TRANSFORMER))
    if tiny:
        # Random queries and keys (RMS-normalised) attend almost uniformly over hundreds of tokens, so a reference
        # or a prompt would shift the output only by an average; sharper attention, as a trained model has, lets
        # each input visibly change the picture. The full-size parts stay as built: timing doesn't depend on it.
        with torch.no_grad():
            for name, parameter in transformer.named_parameters():
                if name.rsplit(".", 2)[-2] in ("norm_q", "norm_k", "norm_added_q", "norm_added_k"):
                    parameter.fill_(TINY_ATTENTION_SHARPNESS)
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLFlux2(**(TINY_VAE if tiny else KLEIN_4B_VAE))
    torch.manual_seed(seed + 2)
    text = dict(TINY_TEXT if tiny else QWEN3_4B)
    text_encoder = Qwen3ForCausalLM(Qwen3Config(vocab_size=len(tokenizer) if tiny else QWEN_VOCAB, **text))
    with torch.device("cpu"):  # the scheduler keeps its tables on the CPU even when the models are built on a GPU
        scheduler = FlowMatchEulerDiscreteScheduler()
    return KleinParts(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                      scheduler=scheduler)


def build_klein_store(root: Path, *, with_clip: bool = True, merge: bool = False) -> Path:
    """A model store holding the three tiny klein models (and a tiny CLIP), each under its catalogue name; `merge`
    adds them to a store that already has a manifest (the tiny SDXL store, say)."""
    root.mkdir(parents=True, exist_ok=True)
    pipe = build_klein("tiny").pipeline()
    pipe.save_pretrained(root / "_klein")
    layout = {"klein-4b-transformer": ("transformer", "scheduler", "model_index.json"),
              "klein-4b-vae": ("vae",), "klein-4b-text-encoder": ("text_encoder", "tokenizer")}
    for name, parts in layout.items():
        (root / name).mkdir()
        for part in parts:
            (root / "_klein" / part).rename(root / name / part)
    entries = [(dataclasses.replace(CATALOGUE[name], revision=TINY_REVISION), TINY_REVISION) for name in layout]
    if with_clip and not (root / "clip-appropriateness").exists():
        from .store_factory import _write_clip

        _write_clip(root / "clip-appropriateness")
        entries.append((dataclasses.replace(CATALOGUE["clip-appropriateness"], revision=TINY_REVISION),
                        TINY_REVISION))
    write_manifest(root, entries, merge=merge)
    shutil.rmtree(root / "_klein")
    return root


class StandInPipe:
    """Test stand-in for the model call: returns a fixed picture instead of denoising, so QC can be tested on real
    faces. By default it pastes the first reference image (what a model that copies instead of re-photographing
    does); with `picture` it returns that photo (a different real photo of the person stands in for a re-render).
    Everything else (prompt encoding, sizes) is the real pipeline's."""

    def __init__(self, real: Any, picture: Any = None) -> None:
        self.real = real
        self.picture = picture
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __call__(self, *, image, height, width, generator, **kwargs):
        import cv2
        import numpy as np

        self.calls.append({"references": len(image), "batch": len(generator)})
        source = np.asarray(image[0].convert("RGB")) if self.picture is None else self.picture
        # Cover-crop to the requested frame, keeping the upper part (where a portrait's face is).
        scale = max(width / source.shape[1], height / source.shape[0])
        resized = cv2.resize(source, (max(width, round(source.shape[1] * scale)),
                                      max(height, round(source.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        left = (resized.shape[1] - width) // 2
        top = max(0, min(resized.shape[0] - height, (resized.shape[0] - height) // 4))
        frame = resized[top:top + height, left:left + width].astype(np.float32) / 255.0
        return dataclasses.make_dataclass("Output", ["images"])(images=np.stack([frame] * len(generator)))
