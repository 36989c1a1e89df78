"""Variants: which headshots each person gets (best selfies x framing x lighting x background), named and seeded so
any one can be made again, and how a failed one is adjusted for regeneration."""
from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .brand import LIGHTING_PRESETS, BrandSpec, Framing
from .face_detect import Face
from .framing import (
    MAX_BOTTOM_EXTENSION,
    MAX_TIGHTEN,
    MAX_TIGHTEST_BOTTOM_EXTENSION,
    bottom_extension,
    framing_variant,
    output_size,
    plan_framing,
)

# Short codes in variant names ("hs-studio-bg0-s2"). "loose" is not offered on its own: it is what regeneration
# moves a failing head-and-shoulders variant to (more room around the head, less enlargement of the selfie).
FRAMING_CODES: dict[str, str] = {"head_and_shoulders": "hs", "close_up": "cu", "square_avatar": "sq", "loose": "lo"}
# Loose framing: the head at this share of the brand's head height (more background, less upscale of the selfie).
LOOSE_HEAD_FACTOR = 0.8
# The second retouch level of the grid, as a share of the brand's strength: used only once every combination at
# the brand's own strength is taken (each level costs one more Finisher.prepare per selfie and framing).
LIGHT_RETOUCH_SHARE = 0.5
# Lighting from plainest to most stylised; regeneration moves towards the plain end.
PLAINNESS = ("natural", "soft", "studio", "dramatic")
# A "look" is framing style + lighting: what a person sees change from one group of headshots to the next (the
# backdrop and the selfie are the same look on another wall or another day). The gallery groups by its label.
FRAMING_LABELS: dict[str, str] = {"head_and_shoulders": "Head and shoulders", "close_up": "Close-up",
                                  "square_avatar": "Square avatar", "loose": "Wide"}
LIGHTING_LABELS: dict[str, str] = {"natural": "natural light", "soft": "soft light", "studio": "studio light",
                                   "dramatic": "dramatic light"}


def look_label(framing_style: str, lighting: str) -> str:
    """The short human name of a look, e.g. "Close-up, studio light" (headshot params["look"])."""
    return f"{FRAMING_LABELS.get(framing_style, framing_style)}, {LIGHTING_LABELS.get(lighting, lighting)}"


def framing_for(style: str, brand: Framing) -> Framing:
    """The Framing numbers of a framing style, derived from the brand's head-and-shoulders framing.

    The three grid styles are framing.py's (one definition of "close-up" for the whole backend); "loose" is
    regeneration's.
    """
    if style == "loose":
        return dataclasses.replace(brand, head_height=round(max(0.2, brand.head_height * LOOSE_HEAD_FACTOR), 4))
    if style not in FRAMING_CODES:
        raise ValueError(f"unknown framing style {style!r}; known: {', '.join(FRAMING_CODES)}")
    return framing_variant(brand, style)


@dataclass(frozen=True)
class FramingFit:
    """Which framing styles a selfie can fill without smearing invented body into the frame's bottom corners."""

    # Per grid style: share of frame height below the photo's bottom edge once choose_framing() has tightened it
    # as far as it may (MAX_TIGHTEN); framing.bottom_extension().
    extensions: dict[str, float]
    # The styles within MAX_BOTTOM_EXTENSION, in the brand's order; when none is, the one needing least. With an
    # object below the face (keep_out_below), only those of them whose frame ends above it, if any do.
    styles: tuple[str, ...]
    # Whether an object below the face was kept out of every planned style (None: there is no such object).
    object_kept_out: bool | None = None

    @property
    def tightest(self) -> float:
        return min(self.extensions.values())

    @property
    def refused(self) -> bool:
        """Even the tightest style would invent a band of body under the chin: the photo can't be framed."""
        return self.tightest > MAX_TIGHTEST_BOTTOM_EXTENSION

    def as_params(self) -> dict[str, Any]:
        excluded = [style for style in self.extensions if style not in self.styles]
        reasons = []
        cut = [style for style in excluded if self.extensions[style] > MAX_BOTTOM_EXTENSION]
        if cut:
            reasons.append(f"the photo ends too close below the chin: {', '.join(cut)} would invent more than "
                           f"{MAX_BOTTOM_EXTENSION:.0%} of the frame's height below it")
        if self.object_kept_out:
            shown = [style for style in excluded if style not in cut]
            if shown:
                reasons.append(f"an object below the face (a microphone) would show in {', '.join(shown)}")
        return {
            "bottom_extension": {style: round(value, 4) for style, value in self.extensions.items()},
            "styles": list(self.styles),
            "excluded": excluded,
            "object_kept_out": self.object_kept_out,
            "reason": "; ".join(reasons) or None,
        }


def framing_fit(face: Face, width: int, height: int, base: Framing,
                styles: Sequence[str] = ("head_and_shoulders", "close_up", "square_avatar"), *,
                keep_out_below: float | None = None) -> FramingFit:
    """How far below the photo each style's frame reaches (geometry only, before any matte), and which fit.

    keep_out_below: the photo row where an object below the face begins (occlusion.chest_object); styles whose
    frame, untightened, shows that row are left out when another fitting style ends above it.
    """
    extensions, bottoms = {}, {}
    for style in styles:
        framing = framing_for(style, base)
        tight = dataclasses.replace(framing, head_height=min(0.8, framing.head_height * MAX_TIGHTEN))
        extensions[style] = bottom_extension(plan_framing(face, tight, output_size(tight, 1024)), width, height)
        plan = plan_framing(face, framing, output_size(framing, 1024))
        inverse = cv2.invertAffineTransform(np.array(plan.matrix, dtype=np.float64))
        # The lowest photo row the frame shows (its bottom corners), in the photo's pixels.
        bottoms[style] = max(float(inverse[1] @ [x, plan.frame_height, 1.0]) for x in (0.0, plan.frame_width))
    fitting = tuple(style for style in styles if extensions[style] <= MAX_BOTTOM_EXTENSION)
    if not fitting:
        fitting = (min(styles, key=lambda style: (extensions[style], styles.index(style))),)
    if keep_out_below is None:
        return FramingFit(extensions=extensions, styles=fitting)
    clear = tuple(style for style in fitting if bottoms[style] <= keep_out_below)
    return FramingFit(extensions=extensions, styles=clear or fitting, object_kept_out=bool(clear))


@dataclass(frozen=True)
class SourceSelfie:
    """One accepted selfie a variant can be made from: its caller name and position in the request."""

    name: str
    index: int


@dataclass(frozen=True)
class VariantSpec:
    """Everything that makes one variant different from another; with the brand and the selfie, enough to remake it."""

    source: str
    source_index: int
    framing_style: str
    lighting: str
    background_index: int
    retouch_strength: float
    base_seed: int

    @property
    def name(self) -> str:
        code = FRAMING_CODES[self.framing_style]
        return f"{code}-{self.lighting}-bg{self.background_index}-s{self.source_index}" + self._retouch_suffix

    # The retouch strength only appears in the name when it isn't the brand's; set by plan_variants/adjust.
    _retouch_suffix: str = dataclasses.field(default="", compare=False, repr=False)

    @property
    def seed(self) -> int:
        """A stable per-variant seed: the same request and variant name always give the same seed."""
        return (self.base_seed + zlib.crc32(self.name.encode("utf-8"))) % 2**32

    @property
    def prepare_key(self) -> tuple[str, str, float]:
        """What Finisher.prepare depends on; variants sharing it share one prepared subject."""
        return (self.source, self.framing_style, self.retouch_strength)

    def framing(self, brand: BrandSpec) -> Framing:
        return framing_for(self.framing_style, brand.framing)

    @property
    def look(self) -> str:
        return look_label(self.framing_style, self.lighting)

    def as_params(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "source_index": self.source_index,
            "framing_style": self.framing_style,
            "lighting": self.lighting,
            "background_index": self.background_index,
            "retouch_strength": self.retouch_strength,
            "base_seed": self.base_seed,
            "seed": self.seed,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any], brand: BrandSpec) -> VariantSpec:
        """The spec recorded in a headshot's params["variant_spec"]; checked against the brand it is remade with."""
        try:
            spec = make_variant(
                SourceSelfie(str(params["source"]), int(params["source_index"])), brand,
                framing_style=str(params["framing_style"]), lighting=str(params["lighting"]),
                background_index=int(params["background_index"]),
                retouch_strength=float(params["retouch_strength"]), base_seed=int(params["base_seed"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"variant params are incomplete or invalid: {exc}") from None
        if "name" in params and params["name"] != spec.name:
            raise ValueError(f"variant params name {params['name']!r} but describe {spec.name!r}")
        return spec


def make_variant(source: SourceSelfie, brand: BrandSpec, *, framing_style: str, lighting: str, background_index: int,
                 retouch_strength: float, base_seed: int) -> VariantSpec:
    if framing_style not in FRAMING_CODES:
        raise ValueError(f"unknown framing style {framing_style!r}")
    if lighting not in LIGHTING_PRESETS:
        raise ValueError(f"unknown lighting preset {lighting!r}")
    if not 0 <= background_index < len(brand.backgrounds):
        raise ValueError(f"background index {background_index} is outside the kit's "
                         f"{len(brand.backgrounds)} backgrounds")
    if not 0.0 <= retouch_strength <= 1.0:
        raise ValueError("retouch strength must be between 0 and 1")
    strength = round(float(retouch_strength), 3)
    suffix = "" if abs(strength - brand.retouch.strength) < 1e-6 else f"-r{int(round(strength * 100))}"
    return VariantSpec(source.name, source.index, framing_style, lighting, background_index, strength, base_seed,
                       _retouch_suffix=suffix)


def plan_variants(brand: BrandSpec, sources: Sequence[SourceSelfie], *, base_seed: int,
                  count: int | None = None,
                  styles_for: dict[str, Sequence[str]] | None = None) -> tuple[VariantSpec, ...]:
    """Up to `count` (default brand.variants_per_person) variants, spread evenly over every axis.

    `sources` are the person's accepted selfies, best first; the best brand.variant_sources of them are used.
    Picking is greedy and deterministic: each next variant is the combination whose axis values have been used
    least so far (ties go to the better selfie and the kit's preferred framing, lighting, background), so the
    first few variants already show every framing, lighting and background. A selfie, framing and lighting
    already picked is only picked again on another backdrop once every such combination is taken (the same photo
    on another colour is a near-copy, not a new choice), and every selfie is shown in every framing before any
    pair of them repeats (balancing the axes alone tied each selfie to one framing). The lighter retouch level is
    only used when every combination at the brand's strength is taken. `styles_for` (selfie name -> styles,
    FramingFit.styles) keeps a tightly cropped selfie to the framings it fills; a selfie it doesn't name gets every
    brand framing.
    """
    count = brand.variants_per_person if count is None else count
    if count < 1:
        raise ValueError("count must be at least 1")
    if not sources:
        return ()
    chosen_sources = list(sources)[: brand.variant_sources]
    levels = [brand.retouch.strength]
    light = round(brand.retouch.strength * LIGHT_RETOUCH_SHARE, 3)
    if light != levels[0]:
        levels.append(light)
    candidates = []
    for tier, strength in enumerate(levels):
        for s_rank, source in enumerate(chosen_sources):
            for f_rank, style in enumerate(brand.variant_framings):
                if styles_for is not None and source.name in styles_for and style not in styles_for[source.name]:
                    continue
                for l_rank, lighting in enumerate(brand.lightings):
                    for b_rank in range(len(brand.backgrounds)):
                        candidates.append(((tier, s_rank, f_rank, l_rank, b_rank),
                                           make_variant(source, brand, framing_style=style, lighting=lighting,
                                                        background_index=b_rank, retouch_strength=strength,
                                                        base_seed=base_seed)))
    used: list[Counter] = [Counter() for _ in range(4)]  # source, framing, lighting, background
    shown: Counter = Counter()  # (source, framing, lighting) picked so far, on any backdrop
    pairs: Counter = Counter()  # (source, framing) picked so far
    picked: list[VariantSpec] = []
    remaining = candidates
    while remaining and len(picked) < count:
        def cost(item):
            (tier, s, f, li, b), _ = item
            return (tier, shown[(s, f, li)], pairs[(s, f)], used[0][s] + used[1][f] + used[2][li] + used[3][b],
                    item[0])

        best = min(remaining, key=cost)
        (tier, s, f, li, b), spec = best
        for counter, value in zip(used, (s, f, li, b), strict=True):
            counter[value] += 1
        shown[(s, f, li)] += 1
        pairs[(s, f)] += 1
        picked.append(spec)
        remaining = [item for item in remaining if item is not best]
    # Render order: grouped by what Finisher.prepare needs, so each prepared subject is made once and dropped.
    order = {key: i for i, key in enumerate(dict.fromkeys(spec.prepare_key for spec in picked))}
    return tuple(sorted(picked, key=lambda spec: order[spec.prepare_key]))


# What regeneration changes first for each QC failure (see output_qc.assess_output for the codes). Each try applies
# the first remedy that still changes something, on top of the previous try's changes.
REMEDIES: dict[str, tuple[str, ...]] = {
    "identity": ("another_source", "less_retouch", "plainer_lighting", "looser_framing"),
    "nearer_to_other": ("another_source", "less_retouch", "plainer_lighting", "looser_framing"),
    "face_count": ("looser_framing", "another_source", "plainer_lighting", "less_retouch"),
    "skin_tone": ("plainer_lighting", "less_retouch", "another_source", "looser_framing"),
    "exposure": ("plainer_lighting", "another_source", "less_retouch", "looser_framing"),
    "clipping": ("plainer_lighting", "another_source", "less_retouch", "looser_framing"),
    "sharpness": ("looser_framing", "another_source", "less_retouch", "plainer_lighting"),
    "noise": ("another_source", "looser_framing", "plainer_lighting", "less_retouch"),
    "edge_halo": ("another_source", "looser_framing", "plainer_lighting", "less_retouch"),
    # A stray piece of matte comes from the selfie's background (a colleague, a sign): another photo, or a tighter
    # look at the same one, leaves it out.
    "stray_matte": ("another_source", "looser_framing", "plainer_lighting", "less_retouch"),
    "eye_line": ("looser_framing", "another_source", "plainer_lighting", "less_retouch"),
    # A face paler or darker than the selfie: the plainer preset moves the face's light least; another selfie
    # needs a smaller exposure step; retouch lifts shadows under the eyes.
    "face_lightness": ("plainer_lighting", "another_source", "less_retouch", "looser_framing"),
    # A face flatter than the selfie (its light and shade taken out): another selfie brings its own modelling, less
    # retouch keeps more of it; the plainest preset is the flattest, so it comes last.
    "face_contrast": ("another_source", "less_retouch", "looser_framing", "plainer_lighting"),
    # A face much harsher than the selfie: the plainer preset is what undoes it.
    "face_harsh": ("plainer_lighting", "another_source", "less_retouch", "looser_framing"),
    # The same pixels as a headshot already made (a retouch step on a face the mesh missed changes nothing): only a
    # change that moves pixels for sure helps, so retouch comes last.
    "duplicate": ("another_source", "looser_framing", "plainer_lighting", "less_retouch"),
}
_DEFAULT_REMEDIES = ("another_source", "less_retouch", "plainer_lighting", "looser_framing")
_LOOSER = {"close_up": "head_and_shoulders", "square_avatar": "head_and_shoulders", "head_and_shoulders": "loose"}


def adjust_variant(spec: VariantSpec, failures: Iterable[str], brand: BrandSpec, sources: Sequence[SourceSelfie],
                   *, tried: set[str], styles_for: dict[str, Sequence[str]] | None = None
                   ) -> tuple[VariantSpec, str] | None:
    """The next variant to try after `spec` failed QC, and the change made; None when nothing is left to change.

    `sources` are the person's usable selfies, best first; `tried` holds the names already made for this person
    (regenerating into a variant that exists already would only repeat it).
    """
    failures = list(failures)
    order: list[str] = []
    for failure in failures or ["identity"]:
        for remedy in REMEDIES.get(failure, _DEFAULT_REMEDIES):
            if remedy not in order:
                order.append(remedy)
    for remedy in order:
        candidate = _apply(remedy, spec, brand, sources, tried | _unfit(spec, brand, sources, styles_for))
        if candidate is not None and candidate.name not in tried and fills_framing(candidate, styles_for):
            return candidate, remedy
    return None


def fills_framing(spec: VariantSpec, styles_for: dict[str, Sequence[str]] | None) -> bool:
    """Whether the spec's selfie fills its framing (plan_variants' styles_for); "loose" never does where any is
    left out, since it shows more below the chin than head-and-shoulders."""
    if styles_for is None or spec.source not in styles_for:
        return True
    allowed = styles_for[spec.source]
    if spec.framing_style == "loose":
        return "head_and_shoulders" in allowed
    return spec.framing_style in allowed


def _unfit(spec: VariantSpec, brand: BrandSpec, sources: Sequence[SourceSelfie],
           styles_for: dict[str, Sequence[str]] | None) -> set[str]:
    """Names of the spec moved to another selfie that doesn't fill its framing: "another_source" skips them."""
    if styles_for is None:
        return set()
    fields = dict(framing_style=spec.framing_style, lighting=spec.lighting, background_index=spec.background_index,
                  retouch_strength=spec.retouch_strength, base_seed=spec.base_seed)
    moved = (make_variant(other, brand, **fields) for other in sources if other.name != spec.source)
    return {candidate.name for candidate in moved if not fills_framing(candidate, styles_for)}


def _apply(remedy: str, spec: VariantSpec, brand: BrandSpec, sources: Sequence[SourceSelfie],
           tried: set[str]) -> VariantSpec | None:
    fields = dict(framing_style=spec.framing_style, lighting=spec.lighting, background_index=spec.background_index,
                  retouch_strength=spec.retouch_strength, base_seed=spec.base_seed)
    source = SourceSelfie(spec.source, spec.source_index)
    if remedy == "another_source":
        for other in sources:
            if other.name != spec.source:
                candidate = make_variant(other, brand, **fields)
                if candidate.name not in tried:
                    return candidate
        return None
    if remedy == "less_retouch":
        if spec.retouch_strength <= 0.0:
            return None
        # Halve it; below 0.1 it is indistinguishable from none, so go to none.
        lower = round(spec.retouch_strength * 0.5, 3)
        fields["retouch_strength"] = lower if lower >= 0.1 else 0.0
    elif remedy == "plainer_lighting":
        position = PLAINNESS.index(spec.lighting)
        if position == 0:
            return None
        fields["lighting"] = PLAINNESS[0]
    elif remedy == "looser_framing":
        looser = _LOOSER.get(spec.framing_style)
        if looser is None:
            return None
        fields["framing_style"] = looser
    else:
        raise ValueError(f"unknown remedy {remedy!r}")
    return make_variant(source, brand, **fields)
