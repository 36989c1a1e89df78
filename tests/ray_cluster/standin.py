"""A stand-in pipeline for pool tests: real Ray actors, no face models, and it says which process served it."""
from __future__ import annotations

import os

from inference.request import GenerationInput, GenerationOutput, SelfieVerdict

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
