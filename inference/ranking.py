"""Ranking: order a person's variants by a small, readable linear model over QC scores and variant attributes, learnt
per brand kit from which variants employees pick."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1
# Prior weights on the QC-derived features (each feature is scaled to about -1..1, see quality_features):
# identity matters most, then skin-tone fidelity, then technical quality. Attribute weights start at 0 and are
# learnt from what employees pick.
PRIOR_WEIGHTS: dict[str, float] = {
    "qc:identity_margin": 1.0,
    "qc:skin_fidelity": 0.5,
    "qc:sharpness": 0.3,
    "qc:exposure": 0.3,
    "qc:clean_edges": 0.3,
    "qc:low_noise": 0.2,
    # Something selfie QC saw in front of the person that stays in the picture (a podium microphone under the chin,
    # selfie_qc's "microphone_below_face"): such a headshot goes below the clean ones, however sharp it is.
    "photo:object_in_frame": 1.5,
}
# selfie_qc warnings that mean the object is in every headshot made from that selfie.
_OBJECT_IN_FRAME_WARNINGS = frozenset({"microphone_below_face"})
# Step size of one (selected, not selected) pair: a handful of consistent picks visibly moves the order, one odd
# pick doesn't flip it.
LEARNING_RATE = 0.3
# Pull back towards the prior on every update, so old feedback fades and weights stay bounded.
L2_TO_PRIOR = 0.01
# Reference points for scaling QC scores (the same bounds output_qc uses to pass or fail).
_IDENTITY_THRESHOLD = 0.6
_SHARPNESS_FLOOR = 40.0
_TARGET_FACE_L = 65.0
_FACE_L_SPAN = 25.0
_SKIN_DELTA_E_BOUND = 5.0
_EDGE_RIM_BOUND = 12.0
_NOISE_BOUND = 8.0


def _number(value: Any) -> float | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if number and math.isfinite(value) else None


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def quality_features(qc: Mapping[str, Any]) -> dict[str, float]:
    """QC scores as features scaled to about -1..1 (higher is better); a score QC could not measure adds nothing."""
    features: dict[str, float] = {}
    distance = _number(qc.get("identity_distance"))
    if distance is not None:
        threshold = _number(qc.get("identity_threshold")) or _IDENTITY_THRESHOLD
        features["qc:identity_margin"] = _clip((threshold - distance) / threshold)
    sharpness = _number(qc.get("sharpness"))
    if sharpness is not None and sharpness > 0:
        features["qc:sharpness"] = _clip(math.log10(sharpness / _SHARPNESS_FLOOR))
    luma = _number(qc.get("face_luma"))
    if luma is not None:
        features["qc:exposure"] = _clip(1.0 - abs(luma - _TARGET_FACE_L) / _FACE_L_SPAN)
    delta_e = _number(qc.get("skin_delta_e"))
    if delta_e is not None:
        features["qc:skin_fidelity"] = _clip(1.0 - delta_e / _SKIN_DELTA_E_BOUND)
    rim = _number(qc.get("edge_rim"))
    if rim is not None:
        features["qc:clean_edges"] = _clip(1.0 - rim / _EDGE_RIM_BOUND)
    noise = _number(qc.get("noise_sigma_face"))
    if noise is not None:
        features["qc:low_noise"] = _clip(1.0 - noise / _NOISE_BOUND)
    return features


def attribute_features(params: Mapping[str, Any]) -> dict[str, float]:
    """One-hot variant attributes (framing, lighting, background, retouch level) from a headshot's params."""
    spec = params.get("variant_spec", params)
    features: dict[str, float] = {}
    for key, prefix in (("framing_style", "framing"), ("lighting", "lighting")):
        if spec.get(key) is not None:
            features[f"{prefix}:{spec[key]}"] = 1.0
    if spec.get("background_index") is not None:
        features[f"background:bg{int(spec['background_index'])}"] = 1.0
    strength = _number(spec.get("retouch_strength"))
    if strength is not None:
        features["retouch:strength"] = strength
    return features


def photo_features(params: Mapping[str, Any]) -> dict[str, float]:
    """-1 for a headshot whose selfie has an object in front of the person that framing could not keep out."""
    warnings = params.get("source_warnings") or ()
    if isinstance(warnings, (list, tuple)) and _OBJECT_IN_FRAME_WARNINGS.intersection(warnings):
        return {"photo:object_in_frame": -1.0}
    return {}


def headshot_features(entry: Mapping[str, Any]) -> dict[str, float]:
    """Features of one shown headshot: a manifest entry or stored Headshot row with "params" and "qc"."""
    params = entry.get("params") or {}
    return {**quality_features(entry.get("qc") or {}), **attribute_features(params), **photo_features(params)}


@dataclass
class RankingModel:
    """score = sum(weight[f] * feature[f]); the weights are the whole state, readable by an admin as they are."""

    weights: dict[str, float] = field(default_factory=lambda: dict(PRIOR_WEIGHTS))
    learning_rate: float = LEARNING_RATE
    # Pairs learnt from so far, and the number of feedback events (one per employee selection).
    pairs_seen: int = 0
    events_seen: int = 0

    def score(self, features: Mapping[str, float]) -> float:
        return float(sum(self.weights.get(name, 0.0) * value for name, value in features.items()))

    def learn(self, shown: Sequence[Mapping[str, Any]], selected: Iterable[int]) -> int:
        """Learn from one selection: `shown` headshot entries (params + qc), `selected` the indices picked.

        Pairwise logistic (Bradley-Terry) steps: every picked variant should outscore every shown one not picked.
        Returns the number of pairs used.
        """
        chosen = sorted(set(selected))
        if any(not 0 <= i < len(shown) for i in chosen):
            raise ValueError(f"selected indices must be within the {len(shown)} shown headshots")
        features = [headshot_features(entry) for entry in shown]
        others = [i for i in range(len(shown)) if i not in chosen]
        pairs = 0
        for winner in chosen:
            for loser in others:
                names = set(features[winner]) | set(features[loser])
                diff = {n: features[winner].get(n, 0.0) - features[loser].get(n, 0.0) for n in names}
                margin = sum(self.weights.get(n, 0.0) * d for n, d in diff.items())
                # Gradient of log sigmoid(margin): large when the model still ranks the pair the wrong way.
                push = self.learning_rate * (1.0 - 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, margin)))))
                for name, d in diff.items():
                    if d:
                        self.weights[name] = self.weights.get(name, 0.0) + push * d
                pairs += 1
        if pairs:
            for name in list(self.weights):
                prior = PRIOR_WEIGHTS.get(name, 0.0)
                self.weights[name] -= L2_TO_PRIOR * (self.weights[name] - prior)
            self.events_seen += 1
            self.pairs_seen += pairs
        return pairs

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "weights": {name: round(value, 6) for name, value in sorted(self.weights.items())},
            "learning_rate": self.learning_rate,
            "pairs_seen": self.pairs_seen,
            "events_seen": self.events_seen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RankingModel:
        """The model from the JSON state the web app stores per brand kit; None or {} gives the prior."""
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError("ranking state must be a JSON object")
        if data.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"ranking state version {data.get('version')!r} is not {STATE_VERSION}")
        weights = data.get("weights", {})
        if not isinstance(weights, Mapping) or any(_number(v) is None for v in weights.values()):
            raise ValueError("ranking state weights must map feature names to numbers")
        rate = _number(data.get("learning_rate", LEARNING_RATE))
        if rate is None or not 0 < rate <= 5:
            raise ValueError("ranking state learning_rate must be a number in (0, 5]")
        return cls(weights={str(k): float(v) for k, v in weights.items()}, learning_rate=rate,
                   pairs_seen=int(data.get("pairs_seen", 0)), events_seen=int(data.get("events_seen", 0)))


@dataclass(frozen=True)
class Ranked:
    index: int
    score: float
    rank: int  # 1 = best


# How many of the best a person is shown first (the demo's and the gallery's top row): these must be distinct.
DISTINCT_TOP = 8
# Score gap up to which a selfie and framing not shown yet goes before the best-scoring repeat of one
# (distinct_first): under the prior weights QC scores separate a person's variants by little (benchmarks/quality.py
# --section looks prints the span), while one employee's pick already moves a framing's weight by ~0.75 against the
# others (LEARNING_RATE), so a preference the kit's employees show stays in charge.
PAIR_MARGIN = 0.25


def variant_axes(entry: Mapping[str, Any]) -> dict[str, Any]:
    """source, framing_style, lighting, background_index of an entry (its params, or params["variant_spec"])."""
    params = entry.get("params") or {}
    spec = params.get("variant_spec") or params
    return {key: spec.get(key, params.get(key)) for key in ("source", "framing_style", "lighting", "background_index")}


def rank_entries(entries: Sequence[Mapping[str, Any]], model: RankingModel | None = None, *,
                 distinct_top: int = DISTINCT_TOP) -> list[Ranked]:
    """Rank headshot entries (params + qc + passed) of one person: every passed one before every failed one,
    then by model score, then by name so equal scores keep a stable order; then the first `distinct_top` places
    are made distinct (distinct_first): a person sees their distinct best, not one photo on three backdrops.
    Entries carry source, framing_style, lighting and background_index in params (or params["variant_spec"])."""
    model = model or RankingModel()
    scored = [(i, model.score(headshot_features(entry))) for i, entry in enumerate(entries)]
    order = sorted(scored, key=lambda item: (not entries[item[0]].get("passed", True), -item[1],
                                             str(entries[item[0]].get("variant", ""))))
    score = dict(scored)
    positions = distinct_first([i for i, _ in order], entries, distinct_top, score)
    return [Ranked(index=i, score=round(score[i], 6), rank=position + 1) for position, i in enumerate(positions)]


def distinct_first(order: Sequence[int], entries: Sequence[Mapping[str, Any]], top: int = DISTINCT_TOP,
                   scores: Mapping[int, float] | None = None) -> list[int]:
    """`order` (indices into entries, best first) with its first `top` places re-picked for variety.

    A rule and a preference. The rule: each place takes the best remaining entry whose selfie, framing and
    lighting no better-placed one has; two headshots from the same selfie and framing that differ only by backdrop
    colour (or a retouch step nobody sees) are one choice, not two. Only when no such entry is left does a repeat
    come in, best first. The preference: lighting alone changes a photo little, so among those the rule allows, a
    selfie and framing not shown yet goes first unless it scores more than PAIR_MARGIN below the best (a clear
    preference the model learnt from employees still wins). A passed entry always goes before a failed one, and
    below the top `order` stands. Entries without variant params (an old manifest) all count as different.
    """
    scores = scores or {}
    remaining = list(order)
    picked: list[int] = []
    shown: set[tuple] = set()
    pairs: set[tuple] = set()
    while remaining and len(picked) < top:
        passed = [i for i in remaining if entries[i].get("passed", True)]
        pool = passed or remaining
        keys = {}
        for i in pool:
            axes = variant_axes(entries[i])
            known = axes["source"] is not None and axes["framing_style"] is not None
            keys[i] = (axes["source"], axes["framing_style"], axes["lighting"]) if known else ("entry", i)
        allowed = [i for i in pool if keys[i] not in shown] or pool
        choice = allowed[0]
        fresh = next((i for i in allowed if keys[i][:2] not in pairs), None)
        if fresh is not None and scores.get(fresh, 0.0) >= scores.get(choice, 0.0) - PAIR_MARGIN:
            choice = fresh
        shown.add(keys[choice])
        pairs.add(keys[choice][:2])
        picked.append(choice)
        remaining.remove(choice)
    return picked + remaining


def learn_from_selection(state: Mapping[str, Any] | None, shown: Sequence[Mapping[str, Any]],
                         selected: Iterable[int]) -> dict[str, Any]:
    """One feedback event in, the new JSON state out: what the web app calls when an employee picks headshots."""
    model = RankingModel.from_dict(state)
    model.learn(shown, selected)
    return model.to_dict()
