"""Builds a complete model store of tiny random-weight models (the layout deploy/fetch_models.py writes), offline."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from inference.diffusion.model_store import CATALOGUE, CatalogueEntry, write_manifest
from tests.inference.diffusion.sdxl_parts import (
    TINY_FACEID_EMBED_DIM,
    TINY_TEXT_CONFIG,
    build_controlnet,
    build_sdxl,
    faceid_adapter_state_dict,
    write_clip_tokenizer,
)

TINY_REVISION = "tiny-random"


def build_tiny_store(root: Path) -> Path:
    from diffusers import StableDiffusionXLPipeline
    from safetensors.torch import save_file

    from inference.diffusion.upscaler import RRDBNet

    root.mkdir(parents=True, exist_ok=True)
    parts = build_sdxl("tiny", root / "_tokenizer")
    StableDiffusionXLPipeline(vae=parts.vae, text_encoder=parts.text_encoder, text_encoder_2=parts.text_encoder_2,
                              tokenizer=parts.tokenizer, tokenizer_2=parts.tokenizer_2, unet=parts.unet,
                              scheduler=parts.scheduler).save_pretrained(root / "sdxl-base")
    for seed, kind in enumerate(("landmarks", "depth", "canny"), start=1):
        build_controlnet(parts.unet, tiny=True, seed=seed).save_pretrained(root / f"controlnet-{kind}")
    # A distilled UNet: the same architecture with different weights.
    generator = torch.Generator().manual_seed(7)
    lightning = {k: v + 0.05 * torch.randn(v.shape, generator=generator) for k, v in parts.unet.state_dict().items()}
    (root / "sdxl-lightning").mkdir()
    save_file({k: v.contiguous() for k, v in lightning.items()}, str(root / "sdxl-lightning" / "unet.safetensors"))
    (root / "ip-adapter-faceid").mkdir()
    save_file(faceid_adapter_state_dict(parts.unet, embed_dim=TINY_FACEID_EMBED_DIM),
              str(root / "ip-adapter-faceid" / "ip-adapter-faceid_sdxl.safetensors"))
    # A brand kit LoRA in diffusers/peft format on two attention projections.
    lora = {}
    for block in ("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q",
                  "up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v"):
        weight = parts.unet.get_submodule(block).weight
        lora[f"unet.{block}.lora_A.weight"] = torch.randn(4, weight.shape[1], generator=generator) * 0.3
        lora[f"unet.{block}.lora_B.weight"] = torch.randn(weight.shape[0], 4, generator=generator) * 0.3
    (root / "kit-lora-acme").mkdir()
    save_file(lora, str(root / "kit-lora-acme" / "pytorch_lora_weights.safetensors"))
    _write_arcface_onnx(root / "insightface-antelopev2" / "glintr100.onnx")
    torch.manual_seed(3)
    (root / "realesrgan-x4").mkdir()
    torch.save({"params_ema": RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).state_dict()},
               root / "realesrgan-x4" / "RealESRGAN_x4.pth")
    _write_clip(root / "clip-appropriateness")
    entries = [(dataclasses.replace(CATALOGUE[name], revision=TINY_REVISION, weights_variant=None),
                TINY_REVISION) for name in (
        "sdxl-base", "controlnet-landmarks", "controlnet-depth", "controlnet-canny", "sdxl-lightning",
        "ip-adapter-faceid", "insightface-antelopev2", "realesrgan-x4", "clip-appropriateness")]
    entries.append((CatalogueEntry("kit-lora-acme", "local/acme-style", TINY_REVISION, "lora", "customer-owned",
                                   True), TINY_REVISION))
    write_manifest(root, entries, merge=False)
    return root


class _TinyArcFace(torch.nn.Module):
    """112 x 112 face crop -> TINY_FACEID_EMBED_DIM embedding: routed by insightface to its ArcFaceONNX."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, stride=2), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, TINY_FACEID_EMBED_DIM))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _write_arcface_onnx(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(5)
    model = _TinyArcFace().eval()
    torch.onnx.export(model, (torch.zeros(1, 3, 112, 112),), str(path), input_names=["input.1"],
                      output_names=["embedding"], dynamo=False)


def _write_clip(folder: Path) -> None:
    from transformers import CLIPConfig, CLIPModel

    text = {k: v for k, v in TINY_TEXT_CONFIG.items()}
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
              "image_size": 32, "patch_size": 8, "projection_dim": 32}
    torch.manual_seed(11)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).save_pretrained(folder)
    write_clip_tokenizer(folder)
