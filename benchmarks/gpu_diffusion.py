"""GPU timing of the diffusion backend's architecture: full-size SDXL + ControlNet + IP-Adapter-FaceID, random weights.

No download: every component is built from its config (inference/diffusion/random_weights.py) and the identity
adapter goes through diffusers' load_ip_adapter from a local folder, as in production. Random weights time the same
as trained ones. Imports only torch, diffusers, transformers and inference.diffusion's torch-only modules.

    python benchmarks/gpu_diffusion.py                 # CUDA, fp16, 1024 px: 4 and 30 steps, batch 1 and 4
    python benchmarks/gpu_diffusion.py --compile       # the same with torch.compile on UNet and ControlNet
    python benchmarks/gpu_diffusion.py --reduced       # CPU, tiny config, 64 px, 2 steps (what the test runs)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

# Steps: 4 is the distilled variants' count (Lightning/LCM; no classifier-free guidance), 30 the base model's (CFG 5).
GUIDANCE_FOR_STEPS = {4: 0.0, 30: 5.0}


@dataclass
class Row:
    steps: int
    batch: int
    seconds_per_call: float
    seconds_per_image: float
    peak_gib: float | None
    repeats: int


def log(message: str) -> None:
    print(message, flush=True)


def build_pipeline(*, reduced: bool, device: str, dtype: torch.dtype, folder: Path):
    from diffusers import StableDiffusionXLControlNetInpaintPipeline
    from diffusers.models.controlnets import MultiControlNetModel
    from safetensors.torch import save_file

    from inference.diffusion.random_weights import (
        FACEID_EMBED_DIM, TINY_FACEID_EMBED_DIM, build_controlnet, build_sdxl, faceid_adapter_state_dict,
    )

    started = time.perf_counter()
    size = "tiny" if reduced else "full"
    # Built directly on the device: a random 2.6 B-parameter UNet initialises in seconds on a GPU, minutes on a CPU.
    with torch.device(device):
        parts = build_sdxl(size, folder / "tokenizer")
        controlnet = build_controlnet(parts.unet, tiny=reduced)
    embed_dim = TINY_FACEID_EMBED_DIM if reduced else FACEID_EMBED_DIM
    adapter = {k: v.to(torch.float16 if not reduced else torch.float32)
               for k, v in faceid_adapter_state_dict(parts.unet, embed_dim=embed_dim).items()}
    save_file(adapter, str(folder / "ip-adapter-faceid.safetensors"))
    pipe = StableDiffusionXLControlNetInpaintPipeline(
        vae=parts.vae, text_encoder=parts.text_encoder, text_encoder_2=parts.text_encoder_2,
        tokenizer=parts.tokenizer, tokenizer_2=parts.tokenizer_2, unet=parts.unet,
        controlnet=MultiControlNetModel([controlnet]), scheduler=parts.scheduler)
    pipe.load_ip_adapter(str(folder), subfolder="", weight_name="ip-adapter-faceid.safetensors",
                         image_encoder_folder=None, local_files_only=True)
    pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for m in (pipe.unet, controlnet, pipe.text_encoder, pipe.text_encoder_2, pipe.vae)
                 for p in m.parameters())
    log(f"built {size} SDXL + ControlNet + IP-Adapter-FaceID ({params / 1e9:.2f} B parameters) on {device} "
        f"{str(dtype).replace('torch.', '')} in {time.perf_counter() - started:.1f} s")
    return pipe, embed_dim


def call(pipe, *, size: int, steps: int, batch: int, embed_dim: int, device: str, dtype: torch.dtype) -> None:
    guidance = GUIDANCE_FOR_STEPS.get(steps, 0.0)
    generator = torch.Generator(device="cpu").manual_seed(0)
    image = torch.rand(1, 3, size, size, generator=generator)
    control = torch.rand(1, 3, size, size, generator=generator)
    mask = torch.ones(1, 1, size, size)
    face = torch.randn(batch, 1, embed_dim, generator=generator).to(device, dtype)
    if guidance > 1.0:
        face = torch.cat([torch.zeros_like(face), face])
    pipe(prompt="professional corporate headshot photo of a person, business attire", image=image,
         mask_image=mask, control_image=[control], controlnet_conditioning_scale=[0.8], height=size, width=size,
         num_inference_steps=steps, guidance_scale=guidance, strength=1.0, num_images_per_prompt=batch,
         ip_adapter_image_embeds=[face], generator=generator, output_type="np")


def measure(pipe, *, size, steps, batch, repeats, embed_dim, device, dtype) -> Row:
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    call(pipe, size=size, steps=steps, batch=batch, embed_dim=embed_dim, device=device, dtype=dtype)  # warm-up
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        call(pipe, size=size, steps=steps, batch=batch, embed_dim=embed_dim, device=device, dtype=dtype)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    best = min(times)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return Row(steps, batch, best, best / batch, peak, repeats)


def table(rows: list[Row], *, title: str) -> str:
    lines = [title, f"{'steps':>5} {'batch':>5} {'s/call':>8} {'s/image':>8} {'peak GiB':>9} {'repeats':>7}"]
    for r in rows:
        peak = "-" if r.peak_gib is None else f"{r.peak_gib:.2f}"
        lines.append(f"{r.steps:>5} {r.batch:>5} {r.seconds_per_call:>8.3f} {r.seconds_per_image:>8.3f} "
                     f"{peak:>9} {r.repeats:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reduced", action="store_true", help="tiny config on CPU, 64 px, 2 steps (for tests)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet and the ControlNet")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=270.0,
                        help="skip the remaining (largest) settings once this much time has gone")
    args = parser.parse_args(argv)
    overall = time.perf_counter()
    if args.reduced:
        torch.set_num_threads(1)
        device, dtype, size, plan, repeats = "cpu", torch.float32, 64, [(2, 1), (2, 2)], 1
    else:
        if not torch.cuda.is_available():
            parser.error("no CUDA device; use --reduced on CPU")
        device, dtype, size, plan, repeats = "cuda", torch.float16, 1024, [(4, 1), (4, 4), (30, 1), (30, 4)], args.repeats
        torch.backends.cuda.matmul.allow_tf32 = True
        log(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        pipe, embed_dim = build_pipeline(reduced=args.reduced, device=device, dtype=dtype, folder=Path(folder))
    if args.compile:
        pipe.unet = torch.compile(pipe.unet)
        pipe.controlnet = torch.compile(pipe.controlnet)
    rows: list[Row] = []
    for steps, batch in plan:
        elapsed = time.perf_counter() - overall
        if rows and not args.reduced:
            # Predict this setting from the slowest per-step-per-image rate seen, (1 warm-up + repeats) calls.
            rate = max(r.seconds_per_call / (r.steps * r.batch) for r in rows)
            predicted = rate * steps * batch * (1 + repeats) * (2.0 if GUIDANCE_FOR_STEPS.get(steps, 0) > 1 else 1.0)
            if elapsed + predicted > args.budget_s:
                log(f"skip steps={steps} batch={batch}: predicted {predicted:.0f} s would pass the "
                    f"{args.budget_s:.0f} s budget")
                continue
        row = measure(pipe, size=size, steps=steps, batch=batch, repeats=repeats, embed_dim=embed_dim,
                      device=device, dtype=dtype)
        rows.append(row)
        log(f"steps={steps} batch={batch}: {row.seconds_per_call:.3f} s/call, {row.seconds_per_image:.3f} s/image"
            + ("" if row.peak_gib is None else f", peak {row.peak_gib:.2f} GiB"))
    title = (f"SDXL + 1 ControlNet + IP-Adapter-FaceID, {size}x{size}, {str(dtype).replace('torch.', '')}, "
             f"{'compiled' if args.compile else 'eager'}, guidance 0 at 4 steps / 5.0 (CFG) at 30 steps; "
             f"total {time.perf_counter() - overall:.0f} s")
    log(table(rows, title=title))
    return rows


if __name__ == "__main__":
    main()
