"""What a kit asks people to wear, and what the backend that makes its headshots can do about it, in one sentence.

The kit editor (beside the clothing fields) and the employee's gallery both show this statement, so what the studio
can't do is said the same way in both places instead of being silently ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.utils.translation import gettext as _

from inference.brand import CLOTHING_CHANGING_BACKENDS, BrandSpec


@dataclass(frozen=True)
class AttireNotice:
    asked: str                # the kit's attire, as written ("dark business suit, white shirt")
    backend: str              # "studio", "klein" or "diffusion"
    changes_clothing: bool
    colour: str | None        # the brand colour the studio moves clothing toward, if the kit sets one
    text: str

    def as_header(self) -> str:
        """The text for an HTTP header (latin-1 only): percent-encoded, for decodeURIComponent."""
        return quote(self.text, safe=" ,.:;()")


def attire_notice(spec: BrandSpec, backend: str) -> AttireNotice | None:
    """What `spec` asks people to wear and whether `backend` (already resolved, not "default") can deliver it;
    None when the kit names no clothing."""
    asked = spec.attire.strip()
    if not asked:
        return None
    colour = spec.attire_color.color.upper() if spec.attire_color.color and spec.attire_color.strength > 0 else None
    changes = backend in CLOTHING_CHANGING_BACKENDS
    if backend == "klein":
        text = _("This kit asks for “%(asked)s”. FLUX.2 [klein] re-photographs the person wearing it, so the "
                 "clothes in the selfies are replaced.") % {"asked": asked}
    elif backend == "diffusion":
        text = _("This kit asks for “%(asked)s”. SDXL repaints the clothes with it around the person's own face, so "
                 "the clothes in the selfies are replaced.") % {"asked": asked}
    elif colour:
        text = _("This kit asks for “%(asked)s”, but the studio backend can't change clothing: the headshots keep "
                 "the clothes worn in the selfies. It only moves their colour toward %(colour)s "
                 "(strength %(strength)d%%).") % {"asked": asked, "colour": colour,
                                                   "strength": round(spec.attire_color.strength * 100)}
    else:
        text = _("This kit asks for “%(asked)s”, but the studio backend can't change clothing: the headshots keep "
                 "the clothes worn in the selfies, colour included.") % {"asked": asked}
    return AttireNotice(asked=asked, backend=backend, changes_clothing=changes, colour=colour, text=text)
