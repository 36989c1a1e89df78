"""BrandSpec: the plain-data form of a company's brand kit that every inference stage reads."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

BackgroundKind = Literal["solid", "gradient", "image", "office"]
LightingPreset = Literal["soft", "studio", "dramatic", "natural"]

BACKGROUND_KINDS: tuple[str, ...] = ("solid", "gradient", "image", "office")
LIGHTING_PRESETS: tuple[str, ...] = ("soft", "studio", "dramatic", "natural")
# Framing styles a variant can use (see inference/variants.py for what each one means in numbers).
FRAMING_STYLES: tuple[str, ...] = ("head_and_shoulders", "close_up", "square_avatar")
# Enough variants per person for an employee to choose from, few enough to finish in seconds per person on CPU.
DEFAULT_VARIANTS_PER_PERSON = 24
MAX_VARIANTS_PER_PERSON = 96
# Regeneration tries after a failed output QC (each try changes one more parameter; see variants.adjust_variant).
DEFAULT_REGENERATION_TRIES = 3
MAX_REGENERATION_TRIES = 6
# How many of the employee's best selfies the variants are made from.
DEFAULT_VARIANT_SOURCES = 3
# Inference backends a brand kit can choose (INFERENCE_BACKEND is the deployment's default).
BACKENDS: tuple[str, ...] = ("default", "studio", "diffusion", "klein")
# Backends that dress the person in the kit's `attire`: klein re-photographs them with it in the instruction, SDXL
# repaints the clothes with it in the prompt. The studio backend finishes the selfie itself, so the clothes stay
# as photographed; it can only move their colour toward `attire_color` (inference/attire.py).
CLOTHING_CHANGING_BACKENDS: frozenset[str] = frozenset({"klein", "diffusion"})
# What the generative backends ask the model for unless the kit says otherwise.
DEFAULT_EXPRESSION = "natural closed-mouth smile"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class BrandSpecError(ValueError):
    """A brand spec field is missing or out of range; the message names the field."""


def hex_to_rgb(value: str, name: str = "colour") -> tuple[int, int, int]:
    if not isinstance(value, str) or not _HEX.match(value):
        raise BrandSpecError(f"{name} {value!r} must be written as #RRGGBB")
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@dataclass(frozen=True)
class Background:
    kind: BackgroundKind = "solid"
    color: str = "#d9dde3"
    # Second colour of a vertical gradient (top = color, bottom = color_to).
    color_to: str | None = None
    # Local path of the uploaded background plate, for kind == "image" (and optionally "office", which blurs it;
    # without a plate, "office" renders a soft out-of-focus office in the brand colours).
    image_path: str | None = None

    def check(self, name: str = "background") -> None:
        if self.kind not in BACKGROUND_KINDS:
            raise BrandSpecError(f"{name}.kind must be one of {', '.join(BACKGROUND_KINDS)}")
        hex_to_rgb(self.color, f"{name}.color")
        if self.kind == "gradient":
            if not self.color_to:
                raise BrandSpecError(f"{name}.color_to is required for a gradient background")
            hex_to_rgb(self.color_to, f"{name}.color_to")
        if self.kind == "image" and not self.image_path:
            raise BrandSpecError(f"{name}.image_path is required for an image background")


@dataclass(frozen=True)
class Framing:
    # Output width / height (0.8 = 4:5 portrait, 1.0 = square).
    aspect: float = 0.8
    # Height of the line through both eye centres, as a fraction of frame height from the top.
    eye_line: float = 0.42
    # Chin-to-crown head height as a fraction of frame height.
    head_height: float = 0.42

    def check(self) -> None:
        if not 0.5 <= self.aspect <= 2.0:
            raise BrandSpecError("framing.aspect must be between 0.5 and 2.0 (width / height)")
        if not 0.2 <= self.eye_line <= 0.6:
            raise BrandSpecError("framing.eye_line must be between 0.2 and 0.6 of the frame height")
        if not 0.2 <= self.head_height <= 0.8:
            raise BrandSpecError("framing.head_height must be between 0.2 and 0.8 of the frame height")


@dataclass(frozen=True)
class ColorGrade:
    # -1 (cool) .. +1 (warm) shift of the white balance.
    temperature: float = 0.0
    # Multiplier on chroma; 1.0 leaves colours as they are.
    saturation: float = 1.0
    # Multiplier on contrast around mid-grey; 1.0 leaves contrast as it is.
    contrast: float = 1.0

    def check(self) -> None:
        if not -1.0 <= self.temperature <= 1.0:
            raise BrandSpecError("color_grade.temperature must be between -1 and 1")
        if not 0.0 <= self.saturation <= 2.0:
            raise BrandSpecError("color_grade.saturation must be between 0 and 2")
        if not 0.5 <= self.contrast <= 1.5:
            raise BrandSpecError("color_grade.contrast must be between 0.5 and 1.5")


@dataclass(frozen=True)
class Retouch:
    # 0 = untouched, 1 = the strongest retouch the studio backend allows (still bounded by min_texture_share).
    strength: float = 0.5
    # Share of the skin's high-frequency energy that must survive retouching ("not over-retouched").
    min_texture_share: float = 0.6

    def check(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise BrandSpecError("retouch.strength must be between 0 and 1")
        if not 0.3 <= self.min_texture_share <= 1.0:
            raise BrandSpecError("retouch.min_texture_share must be between 0.3 and 1")


@dataclass(frozen=True)
class Attire:
    # Brand colour the clothing is moved toward by the studio backend; None leaves clothing as photographed.
    color: str | None = None
    # 0..1: how far toward that colour (bounded, so fabric texture and shading stay).
    strength: float = 0.0

    def check(self) -> None:
        if self.color is not None:
            hex_to_rgb(self.color, "attire_color.color")
        if not 0.0 <= self.strength <= 1.0:
            raise BrandSpecError("attire.strength must be between 0 and 1")


@dataclass(frozen=True)
class BrandSpec:
    name: str = "Neutral"
    version: int = 1
    background: Background = field(default_factory=Background)
    framing: Framing = field(default_factory=Framing)
    # Widths in pixels of the renditions to produce; the height follows from framing.aspect.
    output_sizes: tuple[int, ...] = (1024, 512, 256)
    color_grade: ColorGrade = field(default_factory=ColorGrade)
    lighting: LightingPreset = "soft"
    # Attire prompt for the generative backend; the studio backend records it only.
    attire: str = "business attire"
    attire_color: Attire = field(default_factory=Attire)
    retouch: Retouch = field(default_factory=Retouch)
    # Named variants made from each accepted selfie. Kept for compatibility and round-trips; since the variant
    # grid (below) the generator names variants itself ("hs-studio-bg0-s2"), so these names are recorded only.
    variants: tuple[str, ...] = ("standard",)
    # Industry preset the kit started from (inference/presets.py), or None for a kit built from scratch.
    preset: str | None = None
    # Headshots made per person; the grid below is sampled evenly up to this many.
    variants_per_person: int = DEFAULT_VARIANTS_PER_PERSON
    # Variant axes. Empty lightings = the brand's lighting first, then every other preset.
    variant_framings: tuple[str, ...] = FRAMING_STYLES
    variant_lightings: tuple[str, ...] = ()
    # Backgrounds beyond `background` (which is always bg0); each variant uses one of them.
    extra_backgrounds: tuple[Background, ...] = ()
    # Number of best selfies the variants are made from.
    variant_sources: int = DEFAULT_VARIANT_SOURCES
    # A failed output is regenerated with adjusted parameters up to this many times.
    regeneration_tries: int = DEFAULT_REGENERATION_TRIES
    # Which backend makes this kit's headshots: "studio" (finishing of the selfie), "klein" (FLUX.2 [klein] 4B
    # re-photographs the person, inference/diffusion/klein.py), "diffusion" (SDXL, inference/diffusion/backend.py),
    # or "default": whatever the deployment runs (INFERENCE_BACKEND).
    backend: str = "default"
    # Generative backends: the expression asked for, and more attire prompts for the variant grid (empty: `attire`).
    expression: str = DEFAULT_EXPRESSION
    variant_attires: tuple[str, ...] = ()
    # Local path of the kit's style reference (an existing company headshot HR uploaded), for the klein backend: its
    # light, framing, attire formality and colour grade are matched, never its person. Filled in at compile time.
    style_reference: str | None = None

    @property
    def backgrounds(self) -> tuple[Background, ...]:
        """Every background of the kit: bg0 is `background`, then `extra_backgrounds`."""
        return (self.background, *self.extra_backgrounds)

    @property
    def attires(self) -> tuple[str, ...]:
        """The attire axis of a generative backend's variant grid: the kit's attire first."""
        return (self.attire, *(a for a in self.variant_attires if a != self.attire))

    @property
    def lightings(self) -> tuple[str, ...]:
        """The lighting axis of the variant grid, in order of preference."""
        if self.variant_lightings:
            return self.variant_lightings
        return (self.lighting, *(p for p in LIGHTING_PRESETS if p != self.lighting))

    def check(self) -> BrandSpec:
        self.background.check()
        self.framing.check()
        self.color_grade.check()
        self.retouch.check()
        self.attire_color.check()
        if not self.output_sizes:
            raise BrandSpecError("output_sizes must name at least one width")
        for size in self.output_sizes:
            if isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 4096:
                raise BrandSpecError("output_sizes: each output size must be a whole number of pixels from 64 to 4096")
        if self.lighting not in LIGHTING_PRESETS:
            raise BrandSpecError(f"lighting must be one of {', '.join(LIGHTING_PRESETS)}")
        if not self.variants:
            raise BrandSpecError("variants must name at least one variant")
        for i, extra in enumerate(self.extra_backgrounds):
            extra.check(f"extra_backgrounds.{i}")
        if isinstance(self.variants_per_person, bool) or not isinstance(self.variants_per_person, int) \
                or not 1 <= self.variants_per_person <= MAX_VARIANTS_PER_PERSON:
            raise BrandSpecError(f"variants_per_person must be a whole number from 1 to {MAX_VARIANTS_PER_PERSON}")
        if not self.variant_framings or any(f not in FRAMING_STYLES for f in self.variant_framings):
            raise BrandSpecError(f"variant_framings must name one or more of {', '.join(FRAMING_STYLES)}")
        if len(set(self.variant_framings)) != len(self.variant_framings):
            raise BrandSpecError("variant_framings names a framing twice")
        if any(p not in LIGHTING_PRESETS for p in self.variant_lightings):
            raise BrandSpecError(f"variant_lightings must name presets from {', '.join(LIGHTING_PRESETS)}")
        if len(set(self.variant_lightings)) != len(self.variant_lightings):
            raise BrandSpecError("variant_lightings names a preset twice")
        if isinstance(self.variant_sources, bool) or not isinstance(self.variant_sources, int) \
                or not 1 <= self.variant_sources <= 30:
            raise BrandSpecError("variant_sources must be a whole number from 1 to 30")
        if isinstance(self.regeneration_tries, bool) or not isinstance(self.regeneration_tries, int) \
                or not 0 <= self.regeneration_tries <= MAX_REGENERATION_TRIES:
            raise BrandSpecError(f"regeneration_tries must be a whole number from 0 to {MAX_REGENERATION_TRIES}")
        if self.backend not in BACKENDS:
            raise BrandSpecError(f"backend must be one of {', '.join(BACKENDS)}")
        if not isinstance(self.expression, str) or not 0 < len(self.expression.strip()) <= 200:
            raise BrandSpecError("expression must be a short text (1 to 200 characters)")
        if len(self.variant_attires) > 8 or any(not isinstance(a, str) or not 0 < len(a.strip()) <= 200
                                                for a in self.variant_attires):
            raise BrandSpecError("variant_attires must be up to 8 short texts (1 to 200 characters each)")
        if self.preset is not None and (not isinstance(self.preset, str) or not self.preset):
            raise BrandSpecError("preset must be a preset name or null")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output_sizes"] = list(self.output_sizes)
        data["variants"] = list(self.variants)
        data["variant_framings"] = list(self.variant_framings)
        data["variant_lightings"] = list(self.variant_lightings)
        data["extra_backgrounds"] = [asdict(b) for b in self.extra_backgrounds]
        data["variant_attires"] = list(self.variant_attires)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrandSpec:
        """Build and check a spec from JSON-shaped data; unknown keys are an error, not silently dropped."""
        if not isinstance(data, dict):
            raise BrandSpecError("a brand spec must be a JSON object")
        known = {"name", "version", "background", "framing", "output_sizes", "color_grade", "lighting", "attire",
                 "attire_color", "retouch", "variants", "preset", "variants_per_person", "variant_framings",
                 "variant_lightings", "extra_backgrounds", "variant_sources", "regeneration_tries", "backend",
                 "expression", "variant_attires", "style_reference"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BrandSpecError(f"unknown brand spec field(s): {', '.join(unknown)}")
        # Each field is read by type, so a wrong-typed value ("output_sizes": "abc", "framing": []) is refused with
        # its name rather than coerced or crashing.
        spec = cls(
            name=str(data.get("name", cls.name)),
            version=_whole(data.get("version", 1), "version"),
            background=_background(data.get("background", {}), "background"),
            framing=Framing(**_numbers(data.get("framing", {}), "framing", Framing)),
            output_sizes=tuple(_whole(size, f"output_sizes.{i}") for i, size
                               in enumerate(_list(data.get("output_sizes", cls.output_sizes), "output_sizes"))),
            color_grade=ColorGrade(**_numbers(data.get("color_grade", {}), "color_grade", ColorGrade)),
            lighting=_text(data.get("lighting", "soft"), "lighting"),
            attire=_text(data.get("attire", cls.attire), "attire"),
            attire_color=_attire(data.get("attire_color", {})),
            retouch=Retouch(**_numbers(data.get("retouch", {}), "retouch", Retouch)),
            variants=_texts(data.get("variants", cls.variants), "variants"),
            preset=data.get("preset"),
            variants_per_person=_whole(data.get("variants_per_person", DEFAULT_VARIANTS_PER_PERSON),
                                       "variants_per_person"),
            variant_framings=_texts(data.get("variant_framings", FRAMING_STYLES), "variant_framings"),
            variant_lightings=_texts(data.get("variant_lightings", ()), "variant_lightings"),
            extra_backgrounds=tuple(_background(extra, f"extra_backgrounds.{i}") for i, extra
                                    in enumerate(_list(data.get("extra_backgrounds", ()), "extra_backgrounds"))),
            variant_sources=_whole(data.get("variant_sources", DEFAULT_VARIANT_SOURCES), "variant_sources"),
            regeneration_tries=_whole(data.get("regeneration_tries", DEFAULT_REGENERATION_TRIES),
                                      "regeneration_tries"),
            backend=_text(data.get("backend", "studio"), "backend"),
            expression=_text(data.get("expression", DEFAULT_EXPRESSION), "expression"),
            variant_attires=_texts(data.get("variant_attires", ()), "variant_attires"),
            style_reference=_optional_text(data.get("style_reference"), "style_reference"),
        )
        return spec.check()


def _whole(value: Any, name: str) -> int:
    """A JSON whole number (7 or 7.0), not a bool or a string; the message names the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or int(value) != value:
        raise BrandSpecError(f"{name} must be a whole number")
    return int(value)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BrandSpecError(f"{name} must be a number")
    return float(value)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BrandSpecError(f"{name} must be a string")
    return value


def _list(value: Any, name: str) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise BrandSpecError(f"{name} must be a list")
    return value


def _texts(value: Any, name: str) -> tuple[str, ...]:
    return tuple(_text(item, f"{name}.{i}") for i, item in enumerate(_list(value, name)))


def _fields(value: Any, name: str, cls: type) -> dict[str, Any]:
    """A JSON object holding only the dataclass's fields."""
    if not isinstance(value, dict):
        raise BrandSpecError(f"{name} must be a JSON object")
    unknown = sorted(set(value) - {f.name for f in fields(cls)})
    if unknown:
        raise BrandSpecError(f"unknown field(s) in {name}: {', '.join(map(str, unknown))}")
    return value


def _numbers(value: Any, name: str, cls: type) -> dict[str, float]:
    return {key: _number(item, f"{name}.{key}") for key, item in _fields(value, name, cls).items()}


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _background(value: Any, name: str) -> Background:
    data = _fields(value, name, Background)
    return Background(**{key: (_text(item, f"{name}.{key}") if key in ("kind", "color")
                               else _optional_text(item, f"{name}.{key}")) for key, item in data.items()})


def _attire(value: Any) -> Attire:
    data = _fields(value, "attire_color", Attire)
    return Attire(color=_optional_text(data.get("color"), "attire_color.color"),
                  strength=_number(data.get("strength", 0.0), "attire_color.strength"))
