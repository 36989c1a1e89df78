"""Selfie set QC: judge an employee's accepted selfies together (near-duplicates, one person throughout) from the
numbers selfie QC stored with each (embedding, perceptual hash, sharpness), without decoding a photo again; the
web app re-checks a stored set with it.

The duplicate limits were calibrated on ../shared/faces/dev and copies of its photos (benchmarks/quality.py
--section selfie_qc prints the distributions); the identity limits live in identity.py with theirs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .identity import EMBEDDING_SIZE, PROFILE_DISTANCE, IdentityProfile, find_consensus, profile_from_embeddings

# Two photos are near-duplicates (a burst, a re-upload, a re-cropped or brightened copy) when both their
# perceptual hashes and their identity embeddings are close. Set on half A (benchmarks/dev_split.py;
# benchmarks/calibration.py): 100 copies of its originals (JPEG q70, 3 % shift, 10 % crop, +20 % brightness, 2/3
# size) differ by <= 10 hash bits and <= 0.121 in embedding; different photos by >= 18 bits and >= 0.30. Each
# limit is the middle of its gap (14; 0.21, kept at 0.20). Half B, held out: all 105 copies (<= 12 bits, <= 0.185)
# are caught and none of its 210 pairs of different photos is (two within 14 bits, >= 0.30 apart in embedding).
# Both limits must hold, so the two narrow margins don't add up.
MAX_DUPLICATE_HASH_BITS = 14
MAX_DUPLICATE_EMBEDDING_DISTANCE = 0.20
PHASH_BITS = 64


@dataclass(frozen=True)
class SetItem:
    """One accepted selfie as the set check needs it: what SelfieVerdict stores (embedding, metrics) is enough."""

    name: str
    embedding: tuple[float, ...]
    phash: str
    sharpness: float


@dataclass(frozen=True)
class SetJudgement:
    # Every item's name -> reason codes; () = keep it.
    reasons: dict[str, tuple[str, ...]]
    # The identity profile of the kept photos; None when they don't agree on one person.
    profile: IdentityProfile | None
    # name -> the kept photo it duplicates.
    duplicate_of: dict[str, str] = field(default_factory=dict)
    # name -> distance to the profile's centre (only for the photos compared with it).
    identity_distances: dict[str, float] = field(default_factory=dict)


def hash_distance(a: str, b: str) -> int:
    """Hamming distance of two selfie_qc.perceptual_hash() strings."""
    return int(bin(int(a, 16) ^ int(b, 16)).count("1"))


def judge_set(items: Sequence[SetItem], *, reference: IdentityProfile | None = None) -> SetJudgement:
    """The set-level checks on stored verdict numbers alone (no photo decoded again): reason codes per item name
    ("duplicate", "different_person", "identity_unclear"; () for the photos to keep), the identity profile of the
    kept photos and the distances behind the verdicts.

    Duplicates first (of each group of near-duplicates the sharpest stays), so a photo uploaded twice does not get
    two votes on who the employee is. Then identity: against `reference` when the caller has a trusted profile
    (e.g. the one stored from the employee's earlier approved set), else against the set's own majority
    (identity.find_consensus: one photo is trivially consistent, two must match each other, from three on a
    stranger is outvoted; with no strict majority every photo gets "identity_unclear").
    """
    _check_items(items)
    reasons: dict[str, list[str]] = {item.name: [] for item in items}
    duplicate_of: dict[str, str] = {}
    kept: list[SetItem] = []
    for item in sorted(items, key=lambda it: -it.sharpness):  # stable: ties keep the upload order
        original = next((other for other in kept if _near_duplicates(item, other)), None)
        if original is None:
            kept.append(item)
        else:
            duplicate_of[item.name] = original.name
            reasons[item.name].append("duplicate")
    kept.sort(key=lambda it: [i.name for i in items].index(it.name))
    distances: dict[str, float] = {}
    profile: IdentityProfile | None = None
    if kept:
        embeddings = np.array([item.embedding for item in kept], dtype=np.float64)
        names = [item.name for item in kept]
        if reference is not None:
            reference.check()
            matching = []
            for item, embedding in zip(kept, embeddings, strict=True):
                distances[item.name] = reference.distance(embedding)
                if distances[item.name] > reference.threshold:
                    reasons[item.name].append("different_person")
                else:
                    matching.append(item)
            if matching:
                profile = profile_from_embeddings([m.embedding for m in matching], [m.name for m in matching],
                                                  threshold=reference.threshold)
        else:
            consensus = find_consensus(embeddings, names, threshold=PROFILE_DISTANCE)
            profile = consensus.profile
            for index in consensus.outliers:
                reasons[names[index]].append("different_person" if profile is not None else "identity_unclear")
            distances = {name: d for name, d in zip(names, consensus.distances, strict=True) if d is not None}
    return SetJudgement(
        reasons={name: tuple(codes) for name, codes in reasons.items()},
        profile=profile,
        duplicate_of=duplicate_of,
        identity_distances=distances,
    )


def _near_duplicates(a: SetItem, b: SetItem) -> bool:
    if hash_distance(a.phash, b.phash) > MAX_DUPLICATE_HASH_BITS:
        return False
    gap = np.linalg.norm(np.asarray(a.embedding, dtype=np.float64) - np.asarray(b.embedding, dtype=np.float64))
    return bool(gap <= MAX_DUPLICATE_EMBEDDING_DISTANCE)


def _check_items(items: Sequence[SetItem]) -> None:
    seen: set[str] = set()
    for position, item in enumerate(items):
        if not isinstance(item, SetItem):
            raise ValueError(f"items[{position}] must be a SetItem, got {type(item).__name__}")
        if item.name in seen:
            raise ValueError(f"items[{position}].name {item.name!r} is used twice; names must be unique")
        seen.add(item.name)
        if len(item.embedding) != EMBEDDING_SIZE:
            raise ValueError(f"items[{position}].embedding has {len(item.embedding)} values, expected {EMBEDDING_SIZE}")
        try:
            valid_hash = len(item.phash) == PHASH_BITS // 4 and int(item.phash, 16) >= 0
        except (TypeError, ValueError):
            valid_hash = False
        if not valid_hash:
            raise ValueError(f"items[{position}].phash must be {PHASH_BITS // 4} hex digits, got {item.phash!r}")
