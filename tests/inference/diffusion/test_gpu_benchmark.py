"""benchmarks/gpu_diffusion.py runs its smoke mode on CPU: the same build and timing code as on a GPU, for SDXL and
for klein (through the klein backend's own model call), and it says plainly that these are not GPU figures."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch


def test_the_tiny_benchmark_times_every_sdxl_and_klein_setting_and_says_they_are_not_gpu_figures(capsys):
    path = Path(__file__).parents[3] / "benchmarks" / "gpu_diffusion.py"
    spec = importlib.util.spec_from_file_location("gpu_diffusion", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        rows = module.main(["--tiny"])
    finally:
        torch.set_num_threads(threads)
    sdxl = [r for r in rows if r.model == "sdxl"]
    klein = [r for r in rows if r.model == "klein"]
    assert [(r.steps, r.batch) for r in sdxl] == [(2, 1), (2, 2)]
    assert [(r.references, r.batch) for r in klein] == [(1, 1), (1, 2), (2, 1), (2, 2), (4, 1), (4, 2)]
    assert all(r.seconds_per_image > 0 and r.peak_gib is None and not r.compiled for r in rows)
    printed = capsys.readouterr().out
    assert "NOT GPU FIGURES" in printed and "were not measured" in printed
    assert "yes" not in printed.split("FLUX.2 [klein] tiny")[1]  # no goal verdicts on CPU figures


def test_the_full_size_klein_the_gpu_benchmark_builds_is_the_4b_architecture():
    """Built on the meta device (shapes only, no memory): a 3.9 B transformer and the 4.0 B Qwen3 text encoder."""
    from tests.inference.diffusion.klein_factory import build_klein

    with torch.device("meta"):
        parts = build_klein("full")
    billions = {name: sum(p.numel() for p in getattr(parts, name).parameters()) / 1e9
                for name in ("transformer", "text_encoder", "vae")}
    assert 3.8 < billions["transformer"] < 4.0 and 3.9 < billions["text_encoder"] < 4.1
    assert billions["vae"] < 0.1
    assert parts.transformer.config.joint_attention_dim == 3 * parts.text_encoder.config.hidden_size
