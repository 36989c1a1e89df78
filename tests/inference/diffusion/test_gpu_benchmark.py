"""benchmarks/gpu_diffusion.py runs its reduced mode on CPU: the same build and timing code as on a GPU."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch


def test_reduced_benchmark_builds_the_pipeline_and_times_every_setting():
    path = Path(__file__).parents[3] / "benchmarks" / "gpu_diffusion.py"
    spec = importlib.util.spec_from_file_location("gpu_diffusion", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        rows = module.main(["--reduced"])
    finally:
        torch.set_num_threads(threads)
    assert [(r.steps, r.batch) for r in rows] == [(2, 1), (2, 2)]
    assert all(r.seconds_per_image > 0 and r.peak_gib is None for r in rows)
