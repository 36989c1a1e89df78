"""Upload-time selfie check in the web process: the same inference code the workers run, loaded once per process."""
from __future__ import annotations

import threading
from functools import lru_cache

from inference.request import SelfieInput, SelfieVerdict

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pipeline():
    from inference.pipeline import HeadshotPipeline

    return HeadshotPipeline()


def inspect_selfie(name: str, data: bytes) -> SelfieVerdict:
    # dlib's detector isn't documented as thread-safe; uploads are serialized per process.
    with _lock:
        return _pipeline().inspect_selfie(SelfieInput(name=name, data=data))
