"""Selfie checks in the web process: the same inference code the workers run, loaded once per process.

A photo is checked on its own when it arrives (instant verdict), then against the employee's stored set
(same person, near-duplicates) from stored numbers only, without decoding the other photos again.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from django.conf import settings

from inference.identity import IdentityProfile, profile_from_embeddings
from inference.messages import REASON_MESSAGES
from inference.request import SelfieInput, SelfieVerdict
from inference.selfie_set import SetItem, judge_set

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pipeline():
    # lazy: inference.pipeline loads cv2 and the face models' code; only processes that check selfies pay for it
    from inference.pipeline import HeadshotPipeline

    return HeadshotPipeline(portrait_matte_model=settings.PORTRAIT_MATTE_MODEL or None)


def inspect_selfie(name: str, data: bytes) -> SelfieVerdict:
    # dlib's and mediapipe's models aren't documented as thread-safe; uploads are serialized per process.
    with _lock:
        return _pipeline().inspect_selfie(SelfieInput(name=name, data=data))


def reason_message(reason: str) -> str:
    return REASON_MESSAGES.get(reason, "This photo can't be used. Try another one.")


def set_item(name: str, embedding, metrics: dict) -> SetItem:
    return SetItem(name=name, embedding=tuple(embedding), phash=metrics["phash"], sharpness=float(metrics["sharpness"]))


def judge(items: list[SetItem]) -> tuple[dict[str, tuple[str, ...]], IdentityProfile | None]:
    if not items:
        return {}, None
    judgement = judge_set(items)
    return judgement.reasons, judgement.profile


def profile_of(embeddings: list, names: list[str]) -> IdentityProfile:
    return profile_from_embeddings(embeddings, names)
