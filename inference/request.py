"""Typed input and output of one employee's generation run: what crosses the Ray and CLI boundaries."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .brand import BrandSpec


@dataclass(frozen=True)
class SelfieInput:
    # Caller's stable name for the photo (a database id or a file name); echoed back in the results.
    name: str
    data: bytes


@dataclass(frozen=True)
class GenerationInput:
    selfies: tuple[SelfieInput, ...]
    brand: BrandSpec = field(default_factory=BrandSpec)
    # Base seed; each variant records the seed it actually used so it can be reproduced.
    seed: int = 0


@dataclass(frozen=True)
class SelfieVerdict:
    name: str
    accepted: bool
    # Machine-readable reason codes (e.g. "no_face", "multiple_faces", "not_an_image") ...
    reasons: tuple[str, ...] = ()
    # ... and one human sentence per reason, with what to do about it.
    messages: tuple[str, ...] = ()
    # dlib 128-d identity embedding of the face, when one face was found.
    embedding: tuple[float, ...] | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    format: str  # "JPEG" or "PNG"
    data: bytes


@dataclass(frozen=True)
class HeadshotOutput:
    source: str  # SelfieInput.name it was made from
    variant: str
    # Every parameter needed to make it again (seed, brand version, framing numbers, ...).
    params: dict[str, Any]
    # Full-resolution master, PNG.
    image: bytes
    renditions: tuple[Rendition, ...]
    # Scores and measurements; always includes "identity_distance".
    qc: dict[str, Any]
    passed: bool
    embedding: tuple[float, ...] | None = None


@dataclass(frozen=True)
class GenerationOutput:
    selfies: tuple[SelfieVerdict, ...]
    headshots: tuple[HeadshotOutput, ...]
