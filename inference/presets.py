"""Industry presets: named, documented brand-kit starting points (background, framing, lighting, retouch, attire
colour) that an admin picks and then adjusts."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .brand import BrandSpec


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    # BrandSpec.to_dict()-shaped fields this preset sets; everything else keeps BrandSpec's defaults.
    spec: dict[str, Any]

    def brand_dict(self, *, name: str | None = None) -> dict[str, Any]:
        """A complete BrandSpec dict (checked) for this preset; `name` is the company's kit name."""
        data = copy.deepcopy(self.spec)
        data["name"] = name or self.title
        data["preset"] = self.name
        return BrandSpec.from_dict(data).to_dict()

    def brand(self, *, name: str | None = None) -> BrandSpec:
        return BrandSpec.from_dict(self.brand_dict(name=name))


def _solid(color: str) -> dict[str, Any]:
    return {"kind": "solid", "color": color}


def _gradient(top: str, bottom: str) -> dict[str, Any]:
    return {"kind": "gradient", "color": top, "color_to": bottom}


def _office(color: str) -> dict[str, Any]:
    return {"kind": "office", "color": color}


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        name="corporate_finance",
        title="Corporate & finance",
        description=(
            "Conservative and trust-building: a cool grey-blue studio gradient (with a plain grey and a navy "
            "alternative), classic head-and-shoulders framing with the eyes a little above centre, even studio "
            "light, moderate retouching and clothing nudged towards navy."),
        spec={
            "background": _gradient("#e6e9ee", "#8a97a8"),
            "extra_backgrounds": [_solid("#c9ced6"), _solid("#1f2f46")],
            "framing": {"aspect": 0.8, "eye_line": 0.40, "head_height": 0.42},
            "lighting": "studio",
            "color_grade": {"temperature": -0.1, "saturation": 0.95, "contrast": 1.05},
            "retouch": {"strength": 0.45, "min_texture_share": 0.65},
            "attire": "dark business suit, white shirt",
            "attire_color": {"color": "#1f2a44", "strength": 0.35},
        }),
    Preset(
        name="creative",
        title="Creative",
        description=(
            "Personality-forward: a warm, out-of-focus office look in the brand colour (with a bold teal and a "
            "warm sand backdrop), tighter framing, directional dramatic light, light retouching that keeps skin "
            "texture, clothing left as photographed."),
        spec={
            "background": _office("#c8a27a"),
            "extra_backgrounds": [_solid("#1c6e73"), _gradient("#f1e3cf", "#c79e74")],
            "framing": {"aspect": 0.8, "eye_line": 0.40, "head_height": 0.48},
            "lighting": "dramatic",
            "variant_lightings": ["dramatic", "natural", "soft"],
            "color_grade": {"temperature": 0.2, "saturation": 1.1, "contrast": 1.08},
            "retouch": {"strength": 0.3, "min_texture_share": 0.75},
            "attire": "smart casual",
            "attire_color": {"color": None, "strength": 0.0},
        }),
    Preset(
        name="healthcare",
        title="Healthcare",
        description=(
            "Clean and reassuring: a very light cool-white backdrop (and a soft clinical blue), open "
            "head-and-shoulders framing, soft even light without hard shadows, gentle retouching, clothing "
            "nudged towards white (coat / scrubs)."),
        spec={
            "background": _solid("#f2f5f7"),
            "extra_backgrounds": [_gradient("#eef4f8", "#b9cfdd")],
            "framing": {"aspect": 0.8, "eye_line": 0.42, "head_height": 0.40},
            "lighting": "soft",
            "variant_lightings": ["soft", "natural", "studio"],
            "color_grade": {"temperature": 0.0, "saturation": 1.0, "contrast": 1.0},
            "retouch": {"strength": 0.4, "min_texture_share": 0.7},
            "attire": "white coat over professional clothing",
            "attire_color": {"color": "#f4f6f8", "strength": 0.25},
        }),
    Preset(
        name="real_estate",
        title="Real estate",
        description=(
            "Approachable and warm: a warm beige gradient (and a soft office look), slightly tighter framing for "
            "listing cards and avatars, soft warm light, moderate retouching, clothing towards charcoal."),
        spec={
            "background": _gradient("#f3ebe1", "#c9b49b"),
            "extra_backgrounds": [_office("#b59b7e")],
            "framing": {"aspect": 0.8, "eye_line": 0.41, "head_height": 0.46},
            "lighting": "soft",
            "color_grade": {"temperature": 0.3, "saturation": 1.05, "contrast": 1.0},
            "retouch": {"strength": 0.5, "min_texture_share": 0.6},
            "attire": "business casual blazer",
            "attire_color": {"color": "#3a3a3f", "strength": 0.25},
        }),
    Preset(
        name="tech",
        title="Technology",
        description=(
            "Modern and accessible: a cool light-grey backdrop (with a deep indigo and a soft office look), "
            "square avatars first since they end up in Slack and GitHub, natural light, light retouching, "
            "clothing as photographed."),
        spec={
            "background": _solid("#e4e7eb"),
            "extra_backgrounds": [_solid("#2b2d5c"), _office("#7f8da3")],
            "framing": {"aspect": 0.8, "eye_line": 0.42, "head_height": 0.44},
            "variant_framings": ["square_avatar", "head_and_shoulders", "close_up"],
            "lighting": "natural",
            "color_grade": {"temperature": -0.05, "saturation": 1.0, "contrast": 1.02},
            "retouch": {"strength": 0.3, "min_texture_share": 0.7},
            "attire": "smart casual",
            "attire_color": {"color": None, "strength": 0.0},
        }),
    Preset(
        name="legal",
        title="Legal services",
        description=(
            "Authoritative yet approachable: a dark charcoal-to-slate gradient (with a light grey alternative), "
            "traditional head-and-shoulders framing, studio light with some modelling, moderate retouching, "
            "clothing towards dark charcoal."),
        spec={
            "background": _gradient("#5a6270", "#2a2f38"),
            "extra_backgrounds": [_solid("#cfd3d8")],
            "framing": {"aspect": 0.8, "eye_line": 0.40, "head_height": 0.40},
            "lighting": "studio",
            "variant_lightings": ["studio", "soft", "dramatic"],
            "color_grade": {"temperature": 0.0, "saturation": 0.95, "contrast": 1.06},
            "retouch": {"strength": 0.45, "min_texture_share": 0.65},
            "attire": "dark suit",
            "attire_color": {"color": "#26282d", "strength": 0.35},
        }),
    Preset(
        name="education",
        title="Education",
        description=(
            "Intellectual and approachable: a soft library-toned office look (with a muted green and a light "
            "warm grey backdrop), relaxed head-and-shoulders framing, natural light, light retouching, clothing "
            "as photographed."),
        spec={
            "background": _office("#8c7b62"),
            "extra_backgrounds": [_solid("#4f6b5a"), _solid("#e3ded6")],
            "framing": {"aspect": 0.8, "eye_line": 0.42, "head_height": 0.40},
            "lighting": "natural",
            "color_grade": {"temperature": 0.1, "saturation": 1.0, "contrast": 1.0},
            "retouch": {"strength": 0.3, "min_texture_share": 0.75},
            "attire": "business casual",
            "attire_color": {"color": None, "strength": 0.0},
        }),
)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


def preset_brand_dict(name: str, *, kit_name: str | None = None) -> dict[str, Any]:
    """The BrandSpec dict of an industry preset: what the web app shows and saves as a new kit's first version."""
    return get_preset(name).brand_dict(name=kit_name)


def catalogue() -> list[dict[str, Any]]:
    """Every preset with its title, description and full brand dict, for the web app's picker and the demo."""
    return [{"name": p.name, "title": p.title, "description": p.description, "brand": p.brand_dict()}
            for p in PRESETS.values()]
