"""Generative backend: SDXL with a face-identity adapter and ControlNets, loaded from a local model store.

Importing this package is cheap; torch, diffusers and the studio models load with the modules that need them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model_store import CATALOGUE, COMMERCIAL_DEFAULT, ModelStore, ModelStoreError

if TYPE_CHECKING:
    from .backend import DiffusionBackend
    from .components import DiffusionConfig

__all__ = ["CATALOGUE", "COMMERCIAL_DEFAULT", "DiffusionBackend", "DiffusionConfig", "ModelStore", "ModelStoreError"]

_LAZY = {"DiffusionBackend": "backend", "DiffusionConfig": "components"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
