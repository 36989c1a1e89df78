"""Generative backends loaded from a local model store: FLUX.2 [klein] 4B multi-reference editing (`klein.py`) and
SDXL with ControlNets and an optional face-identity adapter (`backend.py`).

Importing this package is cheap; torch, diffusers and the studio models load with the modules that need them.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .model_store import CATALOGUE, COMMERCIAL_DEFAULT, KLEIN_MODELS, ModelStore, ModelStoreError

if TYPE_CHECKING:
    from .backend import DiffusionBackend
    from .components import DiffusionConfig
    from .klein import KleinBackend
    from .klein_model import KleinConfig

__all__ = ["CATALOGUE", "COMMERCIAL_DEFAULT", "KLEIN_MODELS", "DiffusionBackend", "DiffusionConfig", "KleinBackend",
           "KleinConfig", "ModelStore", "ModelStoreError"]

_LAZY = {"DiffusionBackend": "backend", "DiffusionConfig": "components", "KleinBackend": "klein",
         "KleinConfig": "klein"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
