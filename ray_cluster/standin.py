"""A stand-in model of calibrated, fixed CPU cost for benchmarks and fault tests: real outputs, no face models."""
from __future__ import annotations

import io
import os
import time

from inference.request import GenerationInput, GenerationOutput, HeadshotOutput, SelfieVerdict

# The smallest valid output: storing code opens it to read its size, so it must be a real PNG.
OUTPUT_PX = 8


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (OUTPUT_PX, OUTPUT_PX), (31, 78, 121)).save(buffer, "PNG")
    return buffer.getvalue()


def burn_cpu(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU time: a fixed amount of work however loaded the machine is.

    Under contention the wall time grows while the work stays the same, which is what a model on a shared core does.
    """
    deadline = time.thread_time() + seconds
    x = 1
    while time.thread_time() < deadline:
        for _ in range(2000):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF


class CalibratedStandIn:
    """Accepts every selfie and makes `variants_per_person` headshots, each costing `cpu_seconds_per_variant`.

    `delay_seconds` adds a sleep per set (no CPU): tests use it to hold a task open long enough to kill its actor.
    """

    def __init__(self, cpu_seconds_per_variant: float = 0.0, delay_seconds: float = 0.0, variants: int | None = None):
        self.cpu_seconds_per_variant = cpu_seconds_per_variant
        self.delay_seconds = delay_seconds
        self.variants = variants
        self.image = _tiny_png()
        self.pid = os.getpid()

    def run(self, request: GenerationInput) -> GenerationOutput:
        if not request.selfies:
            raise ValueError("a generation input needs at least one selfie")
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        count = self.variants or request.brand.variants_per_person
        headshots = []
        for n in range(count):
            burn_cpu(self.cpu_seconds_per_variant)
            source = request.selfies[n % len(request.selfies)].name
            variant = f"standin-{n}"
            headshots.append(HeadshotOutput(
                source=source, variant=variant, params={"seed": request.seed, "n": n}, image=self.image,
                renditions=(), qc={"requested_variant": variant, "actor_pid": self.pid}, passed=True, rank=n + 1))
        verdicts = tuple(SelfieVerdict(name=s.name, accepted=True) for s in request.selfies)
        return GenerationOutput(selfies=verdicts, headshots=tuple(headshots))
