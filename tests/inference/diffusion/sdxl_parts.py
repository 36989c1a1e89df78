"""Random-weight SDXL components built from configs (tiny for CPU tests, full-size for GPU timing): test and benchmark
scaffolding, kept out of the production package. No download."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# stabilityai/stable-diffusion-xl-base-1.0, unet/config.json (the architecture only; weights stay random).
SDXL_UNET_CONFIG: dict[str, Any] = {
    "act_fn": "silu", "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
    "block_out_channels": [320, 640, 1280], "center_input_sample": False, "class_embed_type": None,
    "class_embeddings_concat": False, "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_dim": 2048,
    "cross_attention_norm": None,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1, "dual_cross_attention": False, "encoder_hid_dim": None, "encoder_hid_dim_type": None,
    "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
    "mid_block_only_cross_attention": None, "mid_block_scale_factor": 1, "mid_block_type": "UNetMidBlock2DCrossAttn",
    "norm_eps": 1e-05, "norm_num_groups": 32, "num_attention_heads": None, "num_class_embeds": None,
    "only_cross_attention": False, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
    "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": False, "resnet_time_scale_shift": "default",
    "sample_size": 128, "time_cond_proj_dim": None, "time_embedding_act_fn": None, "time_embedding_dim": None,
    "time_embedding_type": "positional", "timestep_post_act": None, "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "upcast_attention": None,
    "use_linear_projection": True,
}
# SDXL's VAE (same architecture as SD's), text_encoder (CLIP ViT-L/14 text) and text_encoder_2 (OpenCLIP bigG text).
SDXL_VAE_CONFIG: dict[str, Any] = {
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
    "norm_num_groups": 32, "out_channels": 3, "sample_size": 1024, "scaling_factor": 0.13025,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}
SDXL_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
    "projection_dim": 768, "hidden_act": "quick_gelu", "vocab_size": 49408, "max_position_embeddings": 77,
}
SDXL_TEXT_2_CONFIG: dict[str, Any] = {
    "hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 20, "num_hidden_layers": 32,
    "projection_dim": 1280, "hidden_act": "gelu", "vocab_size": 49408, "max_position_embeddings": 77,
}
# IP-Adapter-FaceID SDXL: a 512-d ArcFace embedding projected to 4 tokens of the UNet's cross-attention width.
FACEID_EMBED_DIM = 512
FACEID_TOKENS = 4  # diffusers' attention processors fix FaceID at 4 image tokens

# The tiny versions follow diffusers' own SDXL pipeline tests (tests/pipelines/stable_diffusion_xl).
TINY_UNET_CONFIG: dict[str, Any] = {
    "block_out_channels": (32, 64), "layers_per_block": 2, "sample_size": 32, "in_channels": 4, "out_channels": 4,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"), "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "attention_head_dim": (2, 4), "use_linear_projection": True, "addition_embed_type": "text_time",
    "addition_time_embed_dim": 8, "transformer_layers_per_block": (1, 2),
    "projection_class_embeddings_input_dim": 80, "cross_attention_dim": 64, "norm_num_groups": 32,
}
TINY_VAE_CONFIG: dict[str, Any] = {
    "block_out_channels": [32, 64], "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "latent_channels": 4, "sample_size": 128,
}
TINY_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
    "projection_dim": 32, "hidden_act": "gelu", "vocab_size": 1000, "max_position_embeddings": 77,
    # write_clip_tokenizer's ids: 256 bytes x 2 + 5 merges, then the two special tokens.
    "bos_token_id": 517, "eos_token_id": 518, "pad_token_id": 518,
}
TINY_FACEID_EMBED_DIM = 16


@dataclass
class SdxlParts:
    unet: Any
    vae: Any
    text_encoder: Any
    text_encoder_2: Any
    tokenizer: Any
    tokenizer_2: Any
    scheduler: Any


def write_clip_tokenizer(folder: Path) -> Path:
    """A byte-level CLIP BPE vocabulary (every byte, alone and word-final, plus a few merges) written offline."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols]
    merges = [("p", "r"), ("o", "f"), ("e", "s"), ("h", "e"), ("a", "d</w>")]
    tokens += [a + b for a, b in merges] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>"}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 77,
                                                              "tokenizer_class": "CLIPTokenizer"}))
    return folder


def byte_symbols() -> list[str]:
    """GPT-2/CLIP's reversible byte -> printable character table (the base alphabet of byte-level BPE)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    codes, extra = [], 0
    for byte in range(256):
        if byte in printable:
            codes.append(byte)
        else:
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def build_sdxl(size: str, tokenizer_folder: Path, *, seed: int = 0) -> SdxlParts:
    """Every SDXL component with random weights, "tiny" (CPU tests) or "full" (the real architecture)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    if size not in ("tiny", "full"):
        raise ValueError("size must be 'tiny' or 'full'")
    tiny = size == "tiny"
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**(TINY_UNET_CONFIG if tiny else SDXL_UNET_CONFIG))
    vae = AutoencoderKL(**(TINY_VAE_CONFIG if tiny else SDXL_VAE_CONFIG))
    text_1 = CLIPTextConfig(**(TINY_TEXT_CONFIG if tiny else SDXL_TEXT_CONFIG))
    text_2 = CLIPTextConfig(**(TINY_TEXT_CONFIG if tiny else SDXL_TEXT_2_CONFIG))
    tokenizer = CLIPTokenizer.from_pretrained(str(write_clip_tokenizer(tokenizer_folder)))
    with torch.device("cpu"):  # the scheduler keeps its tables on the CPU, even when the models are built on a GPU
        scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                           steps_offset=1, timestep_spacing="leading")
    return SdxlParts(unet=unet, vae=vae, text_encoder=CLIPTextModel(text_1),
                     text_encoder_2=CLIPTextModelWithProjection(text_2), tokenizer=tokenizer,
                     tokenizer_2=tokenizer, scheduler=scheduler)


def build_controlnet(unet: Any, *, tiny: bool, seed: int = 0) -> Any:
    """A ControlNet of the UNet's shape; its conditioning embedding downsamples as much as the VAE does."""
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    channels = (16, 32) if tiny else (16, 32, 96, 256)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=channels)
    # from_unet copies the UNet's weights and zeroes the output convolutions (a fresh ControlNet changes nothing);
    # random non-zero outputs make the control image really matter, as a trained one does.
    with torch.no_grad():
        for module in list(controlnet.controlnet_down_blocks) + [controlnet.controlnet_mid_block]:
            module.weight.normal_(0.0, 0.05)
        for parameter in controlnet.controlnet_cond_embedding.parameters():
            parameter.normal_(0.0, 0.2)
    return controlnet


def faceid_adapter_state_dict(unet: Any, *, embed_dim: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """IP-Adapter-FaceID weights in the layout of h94/IP-Adapter-FaceID's ip-adapter-faceid_sdxl.bin, random.

    "image_proj.*" is the MLP from the face embedding to FACEID_TOKENS tokens; "ip_adapter.{1,3,5..}.to_{k,v}_ip"
    are the extra key/value projections of every cross-attention layer, numbered the way load_ip_adapter reads them.
    """
    generator = torch.Generator().manual_seed(seed)
    cross = unet.config.cross_attention_dim
    hidden = embed_dim * 2  # the real one maps 512 -> 1024 -> 4 x 2048

    def rand(*shape: int, scale: float = 0.1) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * scale

    state = {
        "image_proj.proj.0.weight": rand(hidden, embed_dim), "image_proj.proj.0.bias": rand(hidden),
        "image_proj.proj.2.weight": rand(cross * FACEID_TOKENS, hidden),
        "image_proj.proj.2.bias": rand(cross * FACEID_TOKENS),
        "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        width = _block_width(unet, name)
        state[f"ip_adapter.{key_id}.to_k_ip.weight"] = rand(width, cross, scale=0.5)
        state[f"ip_adapter.{key_id}.to_v_ip.weight"] = rand(width, cross, scale=0.5)
        key_id += 2
    return state


def _block_width(unet: Any, name: str) -> int:
    channels = list(unet.config.block_out_channels)
    if name.startswith("mid_block"):
        return channels[-1]
    if name.startswith("up_blocks"):
        return list(reversed(channels))[int(name[len("up_blocks.")])]
    return channels[int(name[len("down_blocks.")])]
