"""Stand-in pipelines for pool, rollout and fault tests and the rollout benchmark: real Ray actors and real outputs,
no face models. CalibratedStandIn costs a calibrated, fixed CPU time per headshot; EchoPipeline says which process
served it; GatedPipeline holds a set half-way until the test lets each headshot through."""
from __future__ import annotations

import asyncio
import io
import os
import time

import ray
from PIL import Image

from inference.request import (
    GenerationInput,
    GenerationOutput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    HeadshotRank,
    SelfieVerdict,
)
from inference.streaming import collect_output

# The smallest valid output: storing code opens it to read its size, so it must be a real PNG.
OUTPUT_PX = 8


def tiny_png() -> bytes:
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
        self.image = tiny_png()
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


# -- which process served it -----------------------------------------------------------------------------------

LOADS = 0


class EchoPipeline:
    def __init__(self, tag: str = "echo"):
        global LOADS
        LOADS += 1
        self.tag = tag
        self.load_count = LOADS

    def run(self, request: GenerationInput) -> GenerationOutput:
        verdicts = tuple(
            SelfieVerdict(name=s.name, accepted=True, reasons=(f"{self.tag}:{os.getpid()}:{self.load_count}",))
            for s in request.selfies)
        return GenerationOutput(selfies=verdicts, headshots=())


# -- a set held half-way --------------------------------------------------------------------------------------


@ray.remote(num_cpus=0)
class Gate:
    """A named actor the gated pipeline asks before making each headshot: a test hands out one permit at a time,
    looks at what was stored meanwhile, and reads back which variants were made and by which process."""

    def __init__(self):
        self.permits = 0
        self.fail_next = False
        self.made: list[tuple[str, int]] = []
        self.waiting = 0
        self.changed = asyncio.Condition()

    async def release(self, n: int = 1, *, fail: bool = False) -> None:
        async with self.changed:
            self.permits += n
            self.fail_next = self.fail_next or fail
            self.changed.notify_all()

    async def acquire(self) -> bool:
        """Wait for a permit; False when the test asked this attempt to fail instead."""
        async with self.changed:
            self.waiting += 1
            self.changed.notify_all()
            await self.changed.wait_for(lambda: self.permits > 0 or self.fail_next)
            self.waiting -= 1
            if self.fail_next:
                self.fail_next = False
                return False
            self.permits -= 1
            return True

    async def record(self, variant: str, pid: int) -> None:
        self.made.append((variant, pid))

    async def wait_until_waiting(self) -> None:
        """Returns once the pipeline is blocked on its next permit (the previous headshot is on its way)."""
        async with self.changed:
            await self.changed.wait_for(lambda: self.waiting > 0)

    async def made_so_far(self) -> list[tuple[str, int]]:
        return list(self.made)


class GatedPipeline:
    """Streams `variants` tiny headshots ("gated-0", ...), each only when the named Gate gives a permit. Those listed
    in `failing` fail QC with `failures`. Ranks put the highest-numbered variant first, done ones included."""

    def __init__(self, gate: str, variants: int = 4, failing: tuple[int, ...] = (),
                 failures: tuple[str, ...] = ("identity",)):
        self.gate = ray.get_actor(gate)
        self.variants = variants
        self.failing = set(failing)
        self.failures = list(failures)
        self.image = tiny_png()

    def stream(self, request: GenerationInput):
        verdicts = tuple(SelfieVerdict(name=s.name, accepted=True) for s in request.selfies)
        names = [f"gated-{n}" for n in range(self.variants)]
        yield GenerationPlan(selfies=verdicts, planned=tuple(names))
        done = {h.requested_variant for h in request.done}
        for n, name in enumerate(names):
            if name in done:
                continue
            if not ray.get(self.gate.acquire.remote()):
                raise RuntimeError("the worker died mid-set")
            ray.get(self.gate.record.remote(name, os.getpid()))
            passed = n not in self.failing
            yield HeadshotOutput(
                source=request.selfies[0].name, variant=name, params={"n": n}, image=self.image, renditions=(),
                qc={"requested_variant": name, "failures": [] if passed else self.failures, "passed": passed},
                passed=passed)
        yield GenerationRanking(selfies=verdicts, ranks=tuple(
            HeadshotRank(variant=name, rank=position + 1, score=float(-position))
            for position, name in enumerate(reversed(names))))

    def run(self, request: GenerationInput) -> GenerationOutput:
        return collect_output(self.stream(request))
