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


# Faces for the photometric finishing specifications: a range of skin tones and lighting, one smiling with teeth.
FINISHING_FACES = ("barack_obama/1.jpg", "angelina/1.jpg", "scarlett/1.jpg", "jennifer/4.jpg", "katy_perry/3.jpg")
# Half the master's long side (a 819 x 1024 output): the same framing, a quarter of the pixels, so the specifications
# stay fast. Like production, the stages get the working frame: at most this size, less for a small selfie.
FINISHING_LONG_SIDE = 1024


@pytest.fixture(scope="session")
def face_mesher():
    from inference.face_mesh import FaceMesher

    mesher = FaceMesher()
    yield mesher
    mesher.close()


@pytest.fixture(scope="session")
def finishing_subjects(face_mesher) -> dict:
    """{name: (rgb, matte, mesh)}: dev selfies framed as production frames them (Finisher.frame: the brand framing
    chosen by choose_framing, frame_subject on the working frame, refined matte, subject colours cleaned at its
    edge, the face mesh found on the framed image), which is what retouch and white balance receive. The person
    matte is production's too: MODNet's (test_matting requires its file), as HeadshotPipeline loads it."""
    from inference.brand import Framing, Retouch
    from inference.face_detect import FaceAnalyzer, prominent_faces
    from inference.finishing import Finisher, SubjectInput
    from inference.ingest import decode_image
    from inference.matting import DEFAULT_MODEL_PATH, load_portrait_matter
    from inference.segmentation import PersonSegmenter

    analyzer, segmenter = FaceAnalyzer(), PersonSegmenter(load_portrait_matter(DEFAULT_MODEL_PATH))
    finisher = Finisher(segmenter=segmenter, mesher=face_mesher)
    subjects = {}
    try:
        for name in FINISHING_FACES:
            image = decode_image((FACES / name).read_bytes())
            face = prominent_faces(analyzer.detect(image.rgb))[0]
            framed = finisher.frame(SubjectInput(
                rgb=image.rgb, face=face, framing=Framing(), retouch=Retouch(), long_side=FINISHING_LONG_SIDE,
                source_matte=finisher.selfie_matte(image.rgb, face)))
            assert framed.mesh is not None, f"no face mesh on framed {name}"
            subjects[name] = (framed.rgb, framed.matte, framed.mesh)
    finally:
        segmenter.close()
    return subjects


@pytest.fixture(scope="session")
def dev_inspections(pipeline):
    """The pipeline's inspection (selfie QC) of every full-size dev photo, keyed person/file; the 150 px john_* chips
    are left out (ingest rejects them as too small). Measured once: several specifications read it."""
    photos = sorted(p for p in FACES.glob("*/*.jpg") if not p.parent.name.startswith("john_"))
    return {f"{p.parent.name}/{p.name}": pipeline.inspect(SelfieInput(f"{p.parent.name}/{p.name}", p.read_bytes()))
            for p in photos}
