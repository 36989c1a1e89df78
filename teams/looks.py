"""A headshot's look (its lighting and framing) in words, and headshots grouped by it for the gallery.

New headshots carry params["look"]; older rows are described from the variant's recorded lighting and framing
style, so every gallery groups the same way.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy as _

from inference.variants import FRAMING_LABELS, LIGHTING_LABELS, look_label

OTHER_LOOK = _("Other looks")

T = TypeVar("T")


def headshot_look(params: dict[str, Any]) -> str:
    """The look's label: the recorded one, else the same label (inference.variants.look_label) from the variant's
    own parameters."""
    look = params.get("look")
    if isinstance(look, str) and look.strip():
        return look.strip()
    spec = params.get("variant_spec") if isinstance(params.get("variant_spec"), dict) else {}
    lighting = params.get("lighting") or spec.get("lighting")
    # The studio records "framing_style"; klein's variant spec names the style "framing" ("framing" at the top
    # level is the studio's framing plan, a dict of numbers).
    framing = params.get("framing_style") or spec.get("framing_style") or spec.get("framing")
    if framing in FRAMING_LABELS and lighting in LIGHTING_LABELS:
        return look_label(framing, lighting)
    if lighting in LIGHTING_LABELS:
        return LIGHTING_LABELS[lighting].capitalize()
    if framing in FRAMING_LABELS:
        return FRAMING_LABELS[framing]
    return str(OTHER_LOOK)


def group_by_look(headshots: Iterable[T], *, params=lambda h: h.variant_params) -> list[tuple[str, list[T]]]:
    """(look, headshots) pairs; groups in the order their first headshot comes, headshots keep their order."""
    groups: dict[str, list[T]] = {}
    for headshot in headshots:
        groups.setdefault(headshot_look(params(headshot) or {}), []).append(headshot)
    return list(groups.items())
