"""Headshot inference, pure Python (no Django): typed stages from selfie bytes to brand-consistent headshots.

Importing the package is cheap; the model-backed names (HeadshotPipeline, check_inputs) load their modules,
and with them dlib, mediapipe and OpenCV, on first use.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .brand import BrandSpec, BrandSpecError
from .errors import BackgroundError, InferenceError, IngestError, InputError, NoUsableSelfiesError
from .request import GenerationInput, GenerationOutput, HeadshotOutput, Rendition, SelfieInput, SelfieVerdict

if TYPE_CHECKING:
    from .pipeline import HeadshotPipeline, check_inputs

__all__ = [
    "BackgroundError",
    "BrandSpec",
    "BrandSpecError",
    "GenerationInput",
    "GenerationOutput",
    "HeadshotOutput",
    "HeadshotPipeline",
    "InferenceError",
    "IngestError",
    "InputError",
    "NoUsableSelfiesError",
    "Rendition",
    "SelfieInput",
    "SelfieVerdict",
    "check_inputs",
]

_LAZY = {"HeadshotPipeline": "pipeline", "check_inputs": "pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
