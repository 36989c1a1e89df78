"""A headshot's look (its lighting and framing) in words, and headshots grouped by it for the gallery.

New headshots carry params["look"]; older rows are described from the variant's recorded lighting and framing
style, so every gallery groups the same way.
"""
from __future__ import annotations

from typing import Any, Iterable, TypeVar

from django.utils.translation import gettext_lazy as _

LIGHTING_WORDS = {"soft": _("Soft light"), "studio": _("Studio light"), "dramatic": _("Dramatic light"),
                  "natural": _("Natural light")}
FRAMING_WORDS = {"head_and_shoulders": _("head and shoulders"), "close_up": _("close-up"),
                 "square_avatar": _("square avatar")}
OTHER_LOOK = _("Other looks")

T = TypeVar("T")


def headshot_look(params: dict[str, Any]) -> str:
    """The look's label: the recorded one, else "<lighting>, <framing>" from the variant's own parameters."""
    look = params.get("look")
    if isinstance(look, str) and look.strip():
        return look.strip()
    spec = params.get("variant_spec") if isinstance(params.get("variant_spec"), dict) else {}
    lighting = params.get("lighting") or spec.get("lighting")
    # The studio records "framing_style"; klein's variant spec names the style "framing" ("framing" at the top
    # level is the studio's framing plan, a dict of numbers).
    framing = params.get("framing_style") or spec.get("framing_style") or spec.get("framing")
    words = [str(LIGHTING_WORDS[lighting]) if lighting in LIGHTING_WORDS else None,
             str(FRAMING_WORDS[framing]) if isinstance(framing, str) and framing in FRAMING_WORDS else None]
    words = [w for w in words if w]
    return ", ".join(words) if words else str(OTHER_LOOK)


def group_by_look(headshots: Iterable[T], *, params=lambda h: h.variant_params) -> list[tuple[str, list[T]]]:
    """(look, headshots) pairs; groups in the order their first headshot comes, headshots keep their order."""
    groups: dict[str, list[T]] = {}
    for headshot in headshots:
        groups.setdefault(headshot_look(params(headshot) or {}), []).append(headshot)
    return list(groups.items())
