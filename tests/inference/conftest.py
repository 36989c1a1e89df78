"""Shared helpers for the inference tests: where the real photos live, one loaded pipeline, brand factories."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.brand import Background, BrandSpec, ColorGrade, Framing
from inference.request import GenerationInput, GenerationOutput, SelfieInput

# CI checks out ../shared beside the repository (locally /work/shared); same override as tests/conftest.py.
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
FACES = SHARED / "faces" / "dev"
NEGATIVES = SHARED / "faces" / "negatives"
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "selfies"

# Three people with two clean selfies each: enough for identity and eye-line checks, few enough to stay fast.
PEOPLE = {
    "barack_obama": ("1.jpg", "2.jpg"),
    "angelina": ("1.jpg", "2.jpg"),
    "scarlett": ("1.jpg", "2.jpg"),
}


def selfie(path: Path, name: str | None = None) -> SelfieInput:
    return SelfieInput(name=name or f"{path.parent.name}/{path.name}", data=path.read_bytes())


def person_selfies(person: str) -> tuple[SelfieInput, ...]:
    return tuple(selfie(FACES / person / file) for file in PEOPLE[person])


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def solid_brand(color: str = "#1f4e79", **overrides) -> BrandSpec:
    return BrandSpec(name="Acme", version=3, background=Background(kind="solid", color=color), **overrides)


def gradient_brand(top: str = "#f2f4f7", bottom: str = "#5b7190") -> BrandSpec:
    return BrandSpec(
        name="Gradient Co",
        version=1,
        background=Background(kind="gradient", color=top, color_to=bottom),
        framing=Framing(aspect=1.0, eye_line=0.40, head_height=0.40),
        output_sizes=(800, 400),
        color_grade=ColorGrade(temperature=0.3, saturation=1.1, contrast=1.05),
        lighting="studio",
        variants=("standard", "warm"),
    )


@pytest.fixture(autouse=True)
def _media_root():
    """Replaces tests/conftest.py's Django media fixture: inference is pure Python and runs with -p no:django."""


@pytest.fixture(scope="session")
def pipeline():
    """The models load once for the whole session, as they do in a Ray actor."""
    from inference.pipeline import HeadshotPipeline

    loaded = HeadshotPipeline()
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def solid_runs(pipeline) -> dict[str, GenerationOutput]:
    """One run per person on a solid brand background; several specifications read the same results."""
    return {
        person: pipeline.run(GenerationInput(selfies=person_selfies(person), brand=solid_brand(), seed=7))
        for person in PEOPLE
    }
