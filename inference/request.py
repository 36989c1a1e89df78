"""Typed input and output of one employee's generation run: what crosses the Ray and CLI boundaries."""
from __future__ import annotations

from collections.abc import Mapping
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
    # The brand kit's ranking model state (inference.ranking.RankingModel.to_dict()), learnt from what employees
    # picked before; None ranks by QC scores alone.
    ranking: Mapping[str, Any] | None = None
    # Identity profiles (mean 128-d embeddings) of other people, e.g. the rest of the team: each headshot must be
    # nearer to its own person than to any of them. Optional.
    other_profiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # Make exactly these variants again (each a headshot's params["variant_spec"]) instead of the variant grid.
    reproduce: tuple[Mapping[str, Any], ...] = ()
    # Headshots of this set an earlier, interrupted attempt already delivered: not made again, but ranked with the rest.
    done: tuple[DoneHeadshot, ...] = ()


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
    # Selfie-QC measurements (inference.selfie_qc.SelfieMetrics.as_dict(), JSON-safe) when a single face was
    # measured: "phash" and "sharpness" (with the embedding, what selfie_set.judge_set() needs to re-check a stored
    # set), "noise", "face_luma", "face_highlight", "image_highlight", "clipped_highlights", "clipped_shadows",
    # "yaw"/"pitch"/"roll" (degrees), "eye_openness", "irises_found", "eye_distance"; set checks add
    # "identity_distance" and "duplicate_of".
    metrics: dict[str, Any] = field(default_factory=dict)


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
    # Position among this person's headshots (1 = best) and the ranking model's score behind it.
    rank: int | None = None
    ranking_score: float | None = None


@dataclass(frozen=True)
class GenerationOutput:
    selfies: tuple[SelfieVerdict, ...]
    headshots: tuple[HeadshotOutput, ...]
    # Variants not delivered, each with why ({"requested_variant", "variant", "reason", "duplicate_of"}): a
    # render that is the same picture as one already delivered is dropped when no try left makes it different.
    dropped: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class DoneHeadshot:
    """What ranking needs of a headshot made by an earlier attempt (the caller stored it; the image stays there)."""

    requested_variant: str  # the planned name it was made for (qc["requested_variant"])
    variant: str
    params: Mapping[str, Any]
    qc: Mapping[str, Any]
    passed: bool

    @classmethod
    def of(cls, headshot: HeadshotOutput) -> DoneHeadshot:
        return cls(requested_variant=headshot.qc.get("requested_variant", headshot.variant), variant=headshot.variant,
                   params=headshot.params, qc=headshot.qc, passed=headshot.passed)


# A generation as a stream (HeadshotPipeline.stream): one GenerationPlan, then each HeadshotOutput as it is made
# (unranked), then one GenerationRanking. The caller can store and count each headshot as it arrives.


@dataclass(frozen=True)
class GenerationPlan:
    selfies: tuple[SelfieVerdict, ...]
    # Requested variant names of the whole set, those in GenerationInput.done included; empty with no usable selfie.
    planned: tuple[str, ...]


@dataclass(frozen=True)
class HeadshotRank:
    variant: str
    rank: int
    score: float | None = None


@dataclass(frozen=True)
class GenerationRanking:
    # The final verdicts: a selfie whose preparation crashed mid-set is rejected ("processing_failed") here.
    selfies: tuple[SelfieVerdict, ...]
    # Every headshot of the set, GenerationInput.done included, by delivered variant name.
    ranks: tuple[HeadshotRank, ...]
    # Variants not delivered and why (GenerationOutput.dropped).
    dropped: tuple[dict[str, Any], ...] = ()


GenerationEvent = GenerationPlan | HeadshotOutput | GenerationRanking
