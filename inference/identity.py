"""Identity profile: a robust centre of one person's dlib face embeddings, and which faces in a set belong to it."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .face_detect import SAME_PERSON_DISTANCE

MODEL_NAME = "dlib_resnet_v1"
EMBEDDING_SIZE = 128
# Distance from a face to the robust centre (geometric median) of the person's other photos above which it is
# someone else. Calibrated on ../shared/faces/dev (10 people, 70 photos, benchmarks/quality.py prints it):
# leave-one-out distance of a photo to the centre of the same person's other photos is 0.26 median, 0.38 at the
# 95th percentile and 0.50 at most (jennifer/2.jpg, a low, soft 560 px photo); a photo of anyone else is at least
# 0.615 from a person's centre (john_schneider/5.jpg against jack_dorsey's). 0.55 sits in that gap, a little
# nearer the same-person side: letting a colleague through costs a wrong headshot, a false alarm costs a retake.
PROFILE_DISTANCE = 0.55
# Two photos alone are compared to each other with dlib's own pairwise threshold: on the dev faces same-person
# pairs measure 0.33 median and 0.61 at most, different people 0.63 at least.
PAIR_DISTANCE = SAME_PERSON_DISTANCE
# Weiszfeld iterations for the geometric median; 128-d sets of <= 30 photos converge in 10-30.
_MEDIAN_ITERATIONS = 200
_MEDIAN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class IdentityProfile:
    """Who the employee is, as the face-recognition model sees them; JSON-safe through as_dict()/from_dict()."""

    centre: tuple[float, ...]
    # Largest and median distance of a member embedding to the centre.
    radius: float
    spread: float
    count: int
    members: tuple[str, ...] = ()
    model: str = MODEL_NAME
    # Distance to the centre above which a face is someone else (PROFILE_DISTANCE unless calibrated otherwise).
    threshold: float = PROFILE_DISTANCE

    def distance(self, embedding: Sequence[float] | np.ndarray) -> float:
        return distance_to_profile(embedding, self)

    def matches(self, embedding: Sequence[float] | np.ndarray) -> bool:
        return self.distance(embedding) <= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "centre": list(self.centre),
            "radius": self.radius,
            "spread": self.spread,
            "count": self.count,
            "members": list(self.members),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityProfile:
        profile = cls(
            centre=tuple(float(v) for v in data["centre"]),
            radius=float(data["radius"]),
            spread=float(data["spread"]),
            count=int(data["count"]),
            members=tuple(str(m) for m in data.get("members", ())),
            model=str(data.get("model", MODEL_NAME)),
            threshold=float(data.get("threshold", PROFILE_DISTANCE)),
        )
        profile.check()
        return profile

    def check(self) -> None:
        """Raise ValueError naming the field when the profile can't be used (wrong model, size or numbers)."""
        if self.model != MODEL_NAME:
            raise ValueError(f"model is {self.model!r}; distances are only meaningful against {MODEL_NAME!r}")
        if len(self.centre) != EMBEDDING_SIZE or not all(math.isfinite(v) for v in self.centre):
            raise ValueError(f"centre must be {EMBEDDING_SIZE} finite floats")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if not (self.threshold > 0 and math.isfinite(self.threshold)):
            raise ValueError("threshold must be a positive number")


@dataclass(frozen=True)
class IdentityConsensus:
    """Which embeddings of a set show the same (majority) person."""

    # The profile of the majority, or None when no person holds a strict majority of the set.
    profile: IdentityProfile | None
    # Indices into the input that are someone else than the majority (all of them when profile is None).
    outliers: tuple[int, ...]
    # Distance of every input embedding to the majority's centre (None where there is no majority).
    distances: tuple[float | None, ...]

    @property
    def ambiguous(self) -> bool:
        return self.profile is None


def geometric_median(points: np.ndarray) -> np.ndarray:
    """The point with the least summed distance to all points (Weiszfeld); unlike the mean, one outlier can't drag it
    further than the other points allow (breakdown point 50%)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError("geometric_median needs a non-empty N x D array")
    centre = x.mean(axis=0)
    for _ in range(_MEDIAN_ITERATIONS):
        distances = np.linalg.norm(x - centre, axis=1)
        at_point = distances < 1e-12
        if at_point.any():
            # Weiszfeld is undefined on a data point; that point is the median when the others' pull is weaker than 1.
            pull = (x[~at_point] - centre) / distances[~at_point, None]
            if np.linalg.norm(pull.sum(axis=0)) <= at_point.sum():
                return centre
            distances = np.where(at_point, 1e-12, distances)
        weights = 1.0 / distances
        moved = (x * weights[:, None]).sum(axis=0) / weights.sum()
        if np.linalg.norm(moved - centre) < _MEDIAN_TOLERANCE:
            return moved
        centre = moved
    return centre


def profile_from_embeddings(
    embeddings: Sequence[Sequence[float]] | np.ndarray,
    names: Sequence[str] | None = None,
    *,
    threshold: float = PROFILE_DISTANCE,
) -> IdentityProfile:
    """Profile of embeddings already known to be one person: their geometric median and how far they spread."""
    matrix = _as_matrix(embeddings)
    if names is not None and len(names) != len(matrix):
        raise ValueError(f"names has {len(names)} entries for {len(matrix)} embeddings")
    centre = geometric_median(matrix)
    distances = np.linalg.norm(matrix - centre, axis=1)
    return IdentityProfile(
        centre=tuple(float(v) for v in centre),
        radius=float(distances.max()),
        spread=float(np.median(distances)),
        count=len(matrix),
        members=tuple(names) if names is not None else (),
        threshold=threshold,
    )


def distance_to_profile(embedding: Sequence[float] | np.ndarray, profile: IdentityProfile) -> float:
    """Euclidean distance of one 128-d embedding to the profile's centre (compare with profile.threshold)."""
    vector = np.asarray(embedding, dtype=np.float64).reshape(-1)
    if vector.shape != (EMBEDDING_SIZE,):
        raise ValueError(f"embedding must have {EMBEDDING_SIZE} values, got {vector.shape[0]}")
    return float(np.linalg.norm(vector - np.asarray(profile.centre, dtype=np.float64)))


def find_consensus(
    embeddings: Sequence[Sequence[float]] | np.ndarray,
    names: Sequence[str] | None = None,
    *,
    threshold: float = PROFILE_DISTANCE,
    pair_threshold: float = PAIR_DISTANCE,
) -> IdentityConsensus:
    """Find the person most of the set shows, and the photos that show someone else.

    A geometric median of the whole set would sit between two people when a set is split evenly, and every photo
    could then look "close enough". So the centre is seeded from the largest group of mutually similar photos
    (pairwise distance <= pair_threshold), refined on the photos within `threshold` of it, and only accepted when
    those photos are a strict majority of the set. Small sets: one photo is its own profile; two photos agree when
    they are within pair_threshold of each other, and otherwise nobody holds a majority, so both are flagged (we
    can't tell which one is the employee). With three or more, one stranger among them is outvoted.
    """
    matrix = _as_matrix(embeddings)
    count = len(matrix)
    if names is not None and len(names) != count:
        raise ValueError(f"names has {len(names)} entries for {count} embeddings")
    pairwise = np.linalg.norm(matrix[:, None, :] - matrix[None, :, :], axis=2)
    neighbours = pairwise <= pair_threshold
    # The seed: the photo with the most look-alikes; ties go to the one nearest to its look-alikes.
    seed = min(range(count), key=lambda i: (-int(neighbours[i].sum()), float(pairwise[i, neighbours[i]].sum())))
    members = np.flatnonzero(neighbours[seed])
    for _ in range(3):  # re-centre on the inliers until the membership settles (it does in 1-2 rounds)
        centre = geometric_median(matrix[members])
        distances = np.linalg.norm(matrix - centre, axis=1)
        inliers = np.flatnonzero(distances <= threshold)
        if len(inliers) == 0 or np.array_equal(inliers, members):
            break
        members = inliers
    if 2 * len(inliers) <= count:
        return IdentityConsensus(profile=None, outliers=tuple(range(count)), distances=(None,) * count)
    member_names = None if names is None else [names[i] for i in inliers]
    profile = profile_from_embeddings(matrix[inliers], member_names, threshold=threshold)
    to_centre = np.linalg.norm(matrix - np.asarray(profile.centre), axis=1)
    outliers = tuple(i for i in range(count) if i not in set(inliers.tolist()))
    return IdentityConsensus(profile=profile, outliers=outliers, distances=tuple(float(d) for d in to_centre))


def _as_matrix(embeddings: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    matrix = np.asarray(embeddings, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] != EMBEDDING_SIZE:
        raise ValueError(f"expected a non-empty N x {EMBEDDING_SIZE} set of embeddings, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("embeddings contain NaN or infinite values")
    return matrix
