"""What FLUX.2 [klein] is asked for one headshot: the variant's recipe, the reference selfies it sees, and the
instruction the brand kit compiles into (framing, attire with HEX colours, light, pose, expression, backdrop, and what
must not change). Pure text and choice: no model, no pixels."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from ..brand import BrandSpec
from ..variants import framing_for

BACKEND = "klein"
# The model takes at most four reference images; a style reference takes one of them.
MAX_REFERENCES = 4
# The pose axis of the variant grid: small, natural changes a photographer asks for.
POSES: tuple[str, ...] = (
    "facing the camera, shoulders square",
    "body turned slightly to the left, face towards the camera",
    "body turned slightly to the right, face towards the camera",
    "head tilted very slightly, relaxed shoulders",
)
FRAMING_TEXT = {
    "head_and_shoulders": "head-and-shoulders portrait, eyes about {eye:.0%} from the top of the frame, "
                          "the head about {head:.0%} of the frame height, centred",
    "close_up": "close-up portrait, the head filling about {head:.0%} of the frame height, eyes about {eye:.0%} from "
                "the top, centred",
    "square_avatar": "square avatar crop, head and upper shoulders, the face centred, eyes about {eye:.0%} from the "
                     "top",
}
LIGHTING_TEXT = {
    "soft": "soft, even, diffused studio light from the front, gentle shadows",
    "studio": "classic studio key light from one side with a fill light, defined but soft shadows",
    "dramatic": "directional key light with deeper shadows on one side and a subtle rim light",
    "natural": "natural window light, soft and bright, true colours",
}
KEEP_FACE = ("Keep unchanged: the person's face and facial features, hair, skin tone, age and glasses (if they wear "
             "any). It must be unmistakably the same person.")
# Regeneration after a failure adds these, one more per try: a firmer instruction to keep the face.
KEEP_FACE_STRONGER = (
    "Most important: do not alter the face. Same eyes, nose, mouth, jawline, eyebrows, skin tone and hairline as in "
    "the reference photos; no beautifying, no slimming, no ageing or de-ageing.",
    "Copy the identity exactly from the reference photos; only clothing, light, pose and background may differ.",
    "The face must match the reference photos feature for feature.",
)
STYLE_REFERENCE = ("Reference image {n} is a style reference only: match its light, framing, attire formality and "
                   "colour grade, but never its person: do not take that person's face, hair, skin tone or identity.")


# -- the instruction --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KleinVariant:
    """One headshot's recipe; with the request's selfies, the brand kit version and the same store, it remakes it."""

    index: int
    seed: int
    attire: str
    lighting: str
    framing: str
    pose: int
    references: tuple[str, ...]       # selfie names, in the order they go to the model
    style_reference: bool = False
    keep_face: int = 0                # 0 = the plain instruction; each regeneration adds a firmer sentence

    @property
    def name(self) -> str:
        return f"kl-v{self.index}-{self.seed:08x}"

    def as_params(self) -> dict[str, Any]:
        return {"backend": BACKEND, "index": self.index, "seed": self.seed, "attire": self.attire,
                "lighting": self.lighting, "framing": self.framing, "pose": self.pose,
                "references": list(self.references), "style_reference": self.style_reference,
                "keep_face": self.keep_face}

    @classmethod
    def from_params(cls, data: Mapping[str, Any]) -> KleinVariant:
        if data.get("backend") != BACKEND:
            raise ValueError("not a klein variant (params['backend'] must be 'klein')")
        pose = int(data["pose"])
        if not 0 <= pose < len(POSES):
            raise ValueError(f"pose must be from 0 to {len(POSES) - 1}")
        if data["framing"] not in FRAMING_TEXT:
            raise ValueError(f"framing must be one of {', '.join(FRAMING_TEXT)}")
        if data["lighting"] not in LIGHTING_TEXT:
            raise ValueError(f"lighting must be one of {', '.join(LIGHTING_TEXT)}")
        references = tuple(str(r) for r in data["references"])
        if not 1 <= len(references) <= MAX_REFERENCES:
            raise ValueError(f"references must name 1 to {MAX_REFERENCES} selfies")
        return cls(index=int(data["index"]), seed=int(data["seed"]) % 2**32, attire=str(data["attire"]),
                   lighting=str(data["lighting"]), framing=str(data["framing"]), pose=pose, references=references,
                   style_reference=bool(data.get("style_reference", False)),
                   keep_face=max(0, int(data.get("keep_face", 0))))


def hex_colours(brand: BrandSpec) -> dict[str, str | None]:
    """The kit's colours as the instruction writes them (#RRGGBB, upper case)."""
    background = brand.background
    return {"backdrop": background.color.upper(),
            "backdrop_to": background.color_to.upper() if background.kind == "gradient" and background.color_to
            else None,
            "attire": brand.attire_color.color.upper() if brand.attire_color.color else None}


def compile_instruction(brand: BrandSpec, variant: KleinVariant) -> str:
    """The brand kit and one variant as the editing instruction the model follows."""
    colours = hex_colours(brand)
    framing = framing_for(variant.framing, brand.framing)
    count = len(variant.references)
    which = "reference image 1" if count == 1 else f"reference images 1 to {count}"
    attire = variant.attire
    if colours["attire"]:
        attire = f"{attire}, main garment in {colours['attire']}"
    backdrop = f"a plain seamless studio backdrop in {colours['backdrop']}"
    if colours["backdrop_to"]:
        backdrop += f", a smooth vertical gradient to {colours['backdrop_to']} at the bottom"
    parts = [
        f"Re-photograph the person shown in {which} as a professional corporate headshot taken in a photo studio.",
        f"Framing: {FRAMING_TEXT[variant.framing].format(eye=framing.eye_line, head=framing.head_height)}.",
        f"Attire: {attire}.",
        f"Lighting: {LIGHTING_TEXT.get(variant.lighting, variant.lighting)}.",
        f"Pose: {POSES[variant.pose]}.",
        f"Expression: {brand.expression}.",
        f"Background: {backdrop}, nothing else in the background.",
        KEEP_FACE,
        *KEEP_FACE_STRONGER[:variant.keep_face],
    ]
    if variant.style_reference:
        parts.append(STYLE_REFERENCE.format(n=count + 1))
    return " ".join(parts)


def plan_grid(brand: BrandSpec, count: int) -> list[tuple[str, str, str, int]]:
    """`count` (attire, lighting, framing, pose) combinations that differ as much as possible from each other.

    Greedy farthest-point selection on the number of axes two combinations differ in: every next variant differs
    most from its nearest already chosen one, ties going to the least used values, so each axis value is used
    before values repeat and no two variants are the same while the grid has room.
    """
    grid = list(product(brand.attires, brand.lightings, brand.variant_framings, range(len(POSES))))
    chosen: list[tuple[str, str, str, int]] = []
    nearest = [4] * len(grid)
    used: list[dict[Any, int]] = [{}, {}, {}, {}]
    while len(chosen) < count:
        if max(nearest) == 0:  # the grid is exhausted: start over (different seeds still make different images)
            nearest = [4] * len(grid)
        # Ties go to the combination whose values were used least so far, then to grid order.
        best = max(range(len(grid)), key=lambda i: (
            nearest[i], -sum(used[axis].get(value, 0) for axis, value in enumerate(grid[i])), -i))
        pick = grid[best]
        chosen.append(pick)
        for axis, value in enumerate(pick):
            used[axis][value] = used[axis].get(value, 0) + 1
        nearest = [min(n, _differences(pick, g)) for n, g in zip(nearest, grid, strict=True)]
    return chosen


def _differences(a: tuple, b: tuple) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


# -- references ---------------------------------------------------------------------------------------------------


def pick_references(scored: Sequence[tuple[str, float, float]], limit: int) -> list[str]:
    """Up to `limit` selfie names from (name, quality score, yaw): the best first, then each next one adds the most
    quality plus pose spread (its yaw away from the nearest chosen), so the model sees the face from more sides."""
    remaining = list(scored)
    if not remaining or limit < 1:
        return []
    first = max(remaining, key=lambda s: s[1])
    chosen = [first]
    remaining.remove(first)
    while remaining and len(chosen) < limit:
        def gain(item: tuple[str, float, float]) -> float:
            spread = min(abs(item[2] - c[2]) for c in chosen)
            return item[1] + 2.0 * min(spread, 0.5)  # yaw in eye distances; beyond half, more turn adds nothing

        best = max(remaining, key=gain)
        chosen.append(best)
        remaining.remove(best)
    return [name for name, _, _ in chosen]
