"""GPU timing of the generative backends' architectures with random weights, side by side in one run:

- SDXL + ControlNet + IP-Adapter-FaceID (the `diffusion` backend): fp16, 1024 px, 4 and 30 steps, batch 1 and 4;
- FLUX.2 [klein] 4B (the `klein` backend): bf16, 1024 px, 4 steps, 1, 2 and 4 reference images, batch 1 and 4,
  eager and torch.compile, through the backend's own model call (inference/diffusion/klein.py: generate(), with the
  kit's prompt embedding cached as in production; the one-off text encoding is timed apart).

No download: every component is built from its config (SDXL: tests/inference/diffusion/sdxl_parts.py; klein:
tests/inference/diffusion/klein_factory.py, the published 4B architecture) and the identity adapter goes through
diffusers' load_ip_adapter from a local folder, as in production. Random weights time the same as trained ones; they
say nothing about image quality.

    python benchmarks/gpu_diffusion.py                 # CUDA: SDXL, then klein eager and compiled
    python benchmarks/gpu_diffusion.py --compile       # SDXL with torch.compile on UNet and ControlNet too
    python benchmarks/gpu_diffusion.py --only klein    # klein only (or --only sdxl)
    python benchmarks/gpu_diffusion.py --tiny          # CPU smoke run: tiny configs, 64 px, 2 steps, in seconds;
                                                       # it times the same code, its figures are not GPU figures
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from safetensors.torch import save_file

from tests.inference.diffusion.klein_factory import (
    KLEIN_4B_OUT_LAYERS,
    TINY_MAX_SEQUENCE,
    TINY_OUT_LAYERS,
    build_klein,
)
from tests.inference.diffusion.sdxl_parts import (
    FACEID_EMBED_DIM,
    TINY_FACEID_EMBED_DIM,
    build_controlnet,
    build_sdxl,
    faceid_adapter_state_dict,
)

# Steps: 4 is the distilled variants' count (Lightning/LCM; no classifier-free guidance), 30 the base model's (CFG 5).
GUIDANCE_FOR_STEPS = {4: 0.0, 30: 5.0}
# The goal for klein on one H100 at 1024 px, 4 steps: seconds per image at (references, batch).
KLEIN_GOALS = {(2, 1): 1.0, (2, 4): 0.5}
NOT_MEASURED_ON_CPU = ("NOT GPU FIGURES: no CUDA device here. This smoke run times tiny random-weight models on the "
                       "CPU to prove the benchmark runs; the GPU figures (full-size, 1024 px) were not measured.")


@dataclass
class Row:
    steps: int
    batch: int
    seconds_per_call: float
    seconds_per_image: float
    peak_gib: float | None
    repeats: int
    model: str = "sdxl"
    references: int | None = None
    compiled: bool = False


def log(message: str) -> None:
    print(message, flush=True)


def build_pipeline(*, reduced: bool, device: str, dtype: torch.dtype, folder: Path):
    from diffusers import StableDiffusionXLControlNetInpaintPipeline  # lazy: diffusers (heavy), only for SDXL
    from diffusers.models.controlnets import MultiControlNetModel  # lazy: diffusers (heavy), only for SDXL

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


def klein_table(rows: list[Row], *, title: str, goals: bool) -> str:
    lines = [title, f"{'mode':>8} {'refs':>4} {'batch':>5} {'s/call':>8} {'s/image':>8} {'peak GiB':>9} {'goal':>12}"]
    for r in rows:
        peak = "-" if r.peak_gib is None else f"{r.peak_gib:.2f}"
        goal = KLEIN_GOALS.get((r.references, r.batch)) if goals else None
        verdict = "" if goal is None else f"< {goal:.1f} s: {'yes' if r.seconds_per_image < goal else 'NO'}"
        lines.append(f"{'compiled' if r.compiled else 'eager':>8} {r.references:>4} {r.batch:>5} "
                     f"{r.seconds_per_call:>8.3f} {r.seconds_per_image:>8.3f} {peak:>9} {verdict:>12}")
    return "\n".join(lines)


def build_klein_components(*, tiny: bool, device: str, dtype: torch.dtype):
    """The klein backend's components around a random-weight pipeline (tiny, or the full 4B architecture)."""
    from inference.diffusion.klein_model import KleinComponents, KleinConfig  # lazy: torch (heavy), only for klein

    started = time.perf_counter()
    previous = torch.get_default_dtype()
    # Built directly on the device in its dtype: a random 4 B transformer plus a 4 B text encoder initialise in
    # seconds on a GPU (and would need 32 GB of float32 first).
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            parts = build_klein("tiny" if tiny else "full")
    finally:
        torch.set_default_dtype(previous)
    pipe = parts.pipeline()
    pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for m in (pipe.transformer, pipe.text_encoder, pipe.vae) for p in m.parameters())
    name = str(dtype).replace("torch.", "")
    config = KleinConfig(store=Path("."), device=device, dtype=name, steps=2 if tiny else 4,
                         generation_long_side=64 if tiny else 1024,
                         text_encoder_out_layers=TINY_OUT_LAYERS if tiny else KLEIN_4B_OUT_LAYERS,
                         max_sequence_length=TINY_MAX_SEQUENCE if tiny else 512)
    log(f"built {'tiny' if tiny else 'full-size 4B'} FLUX.2 [klein] ({params / 1e9:.2f} B parameters with its text "
        f"encoder) on {device} {name} in {time.perf_counter() - started:.1f} s")
    return KleinComponents(pipe=pipe, config=config, upscaler=None, scorer=None, scorer_missing=None, models={},
                           store=None)


def measure_klein(components, *, references: int, batch: int, repeats: int, compiled: bool) -> Row:
    """Seconds per call of the backend's own batched model call, with the kit's prompt embedding already cached."""
    from inference.diffusion.klein_model import generate  # lazy: torch (heavy), only for klein

    config = components.config
    size = (config.generation_long_side, config.generation_long_side)
    rng = np.random.default_rng(0)
    refs = [rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for _ in range(references)]
    prompts = ["Re-photograph the person as a professional corporate headshot."] * batch
    seeds = list(range(batch))
    cuda = config.device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    generate(components, references=refs, prompts=prompts, seeds=seeds, size=size)  # warm-up (and compile)
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        generate(components, references=refs, prompts=prompts, seeds=seeds, size=size)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    best = min(times)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return Row(config.steps, batch, best, best / batch, peak, repeats, model="klein", references=references,
               compiled=compiled)


def run_klein(*, tiny: bool, device: str, repeats: int, budget_s: float, overall: float,
              compile_modes: tuple[bool, ...]) -> list[Row]:
    dtype = torch.float32 if tiny else torch.bfloat16
    components = build_klein_components(tiny=tiny, device=device, dtype=dtype)
    started = time.perf_counter()
    from inference.diffusion.klein_model import prompt_embeddings  # lazy: torch (heavy), only for klein

    prompt_embeddings(components, "Re-photograph the person as a professional corporate headshot.")
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    log(f"klein text encoding of one kit prompt (once per kit, then cached): {time.perf_counter() - started:.3f} s")
    plan = [(refs, batch) for refs in (1, 2, 4) for batch in ((1, 2) if tiny else (1, 4))]
    rows: list[Row] = []
    for compiled in compile_modes:
        if compiled:
            components.pipe.transformer = torch.compile(components.pipe.transformer)
        for refs, batch in plan:
            if not tiny and rows:
                # Predict from the slowest per-image rate so far (x3 for the first compiled call's compilation).
                rate = max(r.seconds_per_call / r.batch for r in rows)
                predicted = rate * batch * (1 + repeats) * (refs + 1) / 2 * (3.0 if compiled else 1.0)
                if time.perf_counter() - overall + predicted > budget_s:
                    log(f"skip klein {'compiled' if compiled else 'eager'} refs={refs} batch={batch}: predicted "
                        f"{predicted:.0f} s would pass the {budget_s:.0f} s budget")
                    continue
            row = measure_klein(components, references=refs, batch=batch, repeats=repeats, compiled=compiled)
            rows.append(row)
            log(f"klein {'compiled' if compiled else 'eager'} refs={refs} batch={batch}: "
                f"{row.seconds_per_call:.3f} s/call, {row.seconds_per_image:.3f} s/image"
                + ("" if row.peak_gib is None else f", peak {row.peak_gib:.2f} GiB"))
    size = components.config.generation_long_side
    log(klein_table(rows, title=f"FLUX.2 [klein] {'tiny' if tiny else '4B'}, {size}x{size}, "
                                f"{str(dtype).replace('torch.', '')}, {components.config.steps} steps, no CFG "
                                f"(distilled), prompt embedding cached", goals=not tiny))
    return rows


def run_sdxl(args, *, reduced: bool, device: str, dtype: torch.dtype, overall: float) -> list[Row]:
    if reduced:
        size, plan, repeats = 64, [(2, 1), (2, 2)], 1
    else:
        size, plan, repeats = 1024, [(4, 1), (4, 4), (30, 1), (30, 4)], args.repeats
    with tempfile.TemporaryDirectory() as folder:
        pipe, embed_dim = build_pipeline(reduced=reduced, device=device, dtype=dtype, folder=Path(folder))
    if args.compile:
        pipe.unet = torch.compile(pipe.unet)
        pipe.controlnet = torch.compile(pipe.controlnet)
    rows: list[Row] = []
    for steps, batch in plan:
        elapsed = time.perf_counter() - overall
        if rows and not reduced:
            # Predict this setting from the slowest per-step-per-image rate seen, (1 warm-up + repeats) calls.
            rate = max(r.seconds_per_call / (r.steps * r.batch) for r in rows)
            predicted = rate * steps * batch * (1 + repeats) * (2.0 if GUIDANCE_FOR_STEPS.get(steps, 0) > 1 else 1.0)
            if elapsed + predicted > args.sdxl_budget_s:
                log(f"skip steps={steps} batch={batch}: predicted {predicted:.0f} s would pass the "
                    f"{args.sdxl_budget_s:.0f} s budget")
                continue
        row = measure(pipe, size=size, steps=steps, batch=batch, repeats=repeats, embed_dim=embed_dim,
                      device=device, dtype=dtype)
        row.compiled = args.compile
        rows.append(row)
        log(f"steps={steps} batch={batch}: {row.seconds_per_call:.3f} s/call, {row.seconds_per_image:.3f} s/image"
            + ("" if row.peak_gib is None else f", peak {row.peak_gib:.2f} GiB"))
    title = (f"SDXL + 1 ControlNet + IP-Adapter-FaceID, {size}x{size}, {str(dtype).replace('torch.', '')}, "
             f"{'compiled' if args.compile else 'eager'}, guidance 0 at 4 steps / 5.0 (CFG) at 30 steps; "
             f"total {time.perf_counter() - overall:.0f} s")
    log(table(rows, title=title))
    del pipe
    if device.startswith("cuda"):
        torch.cuda.empty_cache()  # klein's peak memory is measured without SDXL's weights resident
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", "--reduced", dest="tiny", action="store_true",
                        help="CPU smoke run: tiny configs, 64 px, 2 steps (what the test runs); not GPU figures")
    parser.add_argument("--only", choices=("sdxl", "klein"), help="run one model's settings only")
    parser.add_argument("--compile", action="store_true", help="torch.compile SDXL's UNet and ControlNet as well")
    parser.add_argument("--no-klein-compile", action="store_true", help="klein eager only (compiling takes minutes)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=540.0,
                        help="skip the remaining (largest) settings once this much time has gone")
    parser.add_argument("--sdxl-budget-s", type=float, default=200.0, help="SDXL's share of the budget")
    args = parser.parse_args(argv)
    overall = time.perf_counter()
    if args.tiny:
        torch.set_num_threads(1)
        device, dtype = "cpu", torch.float32
        log(NOT_MEASURED_ON_CPU)
    else:
        if not torch.cuda.is_available():
            parser.error("no CUDA device: GPU figures can't be measured here; use --tiny for the CPU smoke run")
        device, dtype = "cuda", torch.float16
        torch.backends.cuda.matmul.allow_tf32 = True
        log(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    rows: list[Row] = []
    if args.only in (None, "sdxl"):
        rows += run_sdxl(args, reduced=args.tiny, device=device, dtype=dtype, overall=overall)
    if args.only in (None, "klein"):
        # torch.compile on a CPU smoke run would time the compiler, not the model: eager only there.
        modes = (False,) if args.tiny or args.no_klein_compile else (False, True)
        rows += run_klein(tiny=args.tiny, device=device, repeats=1 if args.tiny else args.repeats,
                          budget_s=args.budget_s, overall=overall, compile_modes=modes)
    log(f"total {time.perf_counter() - overall:.0f} s" + (f"; {NOT_MEASURED_ON_CPU}" if args.tiny else ""))
    return rows


if __name__ == "__main__":
    main()
