"""BrandSpec: the plain-data form of a company's brand kit that every inference stage reads."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BackgroundKind = Literal["solid", "gradient", "image", "office"]
LightingPreset = Literal["soft", "studio", "dramatic", "natural"]

BACKGROUND_KINDS: tuple[str, ...] = ("solid", "gradient", "image", "office")
LIGHTING_PRESETS: tuple[str, ...] = ("soft", "studio", "dramatic", "natural")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class BrandSpecError(ValueError):
    """A brand spec field is missing or out of range; the message names the field."""


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    if not isinstance(value, str) or not _HEX.match(value):
        raise BrandSpecError(f"colour {value!r} must be written as #RRGGBB")
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

    def check(self) -> None:
        if self.kind not in BACKGROUND_KINDS:
            raise BrandSpecError(f"background.kind must be one of {', '.join(BACKGROUND_KINDS)}")
        hex_to_rgb(self.color)
        if self.kind == "gradient":
            if not self.color_to:
                raise BrandSpecError("background.color_to is required for a gradient background")
            hex_to_rgb(self.color_to)
        if self.kind == "image" and not self.image_path:
            raise BrandSpecError("background.image_path is required for an image background")


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
            hex_to_rgb(self.color)
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
    # Named variants made from each accepted selfie.
    variants: tuple[str, ...] = ("standard",)

    def check(self) -> "BrandSpec":
        self.background.check()
        self.framing.check()
        self.color_grade.check()
        self.retouch.check()
        self.attire_color.check()
        if not self.output_sizes:
            raise BrandSpecError("output_sizes must name at least one width")
        for size in self.output_sizes:
            if not isinstance(size, int) or not 64 <= size <= 4096:
                raise BrandSpecError("each output size must be a whole number of pixels from 64 to 4096")
        if self.lighting not in LIGHTING_PRESETS:
            raise BrandSpecError(f"lighting must be one of {', '.join(LIGHTING_PRESETS)}")
        if not self.variants:
            raise BrandSpecError("variants must name at least one variant")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output_sizes"] = list(self.output_sizes)
        data["variants"] = list(self.variants)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BrandSpec":
        """Build and check a spec from JSON-shaped data; unknown keys are an error, not silently dropped."""
        if not isinstance(data, dict):
            raise BrandSpecError("a brand spec must be a JSON object")
        known = {"name", "version", "background", "framing", "output_sizes", "color_grade", "lighting", "attire",
                 "attire_color", "retouch", "variants"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BrandSpecError(f"unknown brand spec field(s): {', '.join(unknown)}")
        try:
            spec = cls(
                name=str(data.get("name", cls.name)),
                version=int(data.get("version", 1)),
                background=Background(**data.get("background", {})),
                framing=Framing(**{k: float(v) for k, v in data.get("framing", {}).items()}),
                output_sizes=tuple(data.get("output_sizes", cls.output_sizes)),
                color_grade=ColorGrade(**{k: float(v) for k, v in data.get("color_grade", {}).items()}),
                lighting=data.get("lighting", "soft"),
                attire=str(data.get("attire", cls.attire)),
                attire_color=Attire(**data.get("attire_color", {})),
                retouch=Retouch(**{k: float(v) for k, v in data.get("retouch", {}).items()}),
                variants=tuple(str(v) for v in data.get("variants", cls.variants)),
            )
        except TypeError as exc:  # unexpected nested key
            raise BrandSpecError(f"invalid brand spec: {exc}") from None
        except ValueError as exc:
            raise BrandSpecError(f"invalid brand spec: {exc}") from None
        return spec.check()
