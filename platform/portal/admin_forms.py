"""Admin portal forms: people (search, import, invite), review notes, and the brand kit spec editor."""
from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from inference.brand import BACKGROUND_KINDS, LIGHTING_PRESETS, MAX_VARIANTS_PER_PERSON, BrandSpec, BrandSpecError
from inference.presets import PRESETS
from teams.review import NOTE_MAX_CHARS

from .admin_selectors import STATES

STATE_LABELS = {
    "never_invited": _("Never invited"), "invited": _("Invited"), "invite_lapsed": _("Invite expired or revoked"),
    "deactivated": _("Account deactivated"), "joined": _("Joined"), "uploaded": _("Uploaded"),
    "generating": _("Generating"),
    "ready": _("Ready for review"), "approved": _("Approved"),
}
hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Write the colour as #RRGGBB."))
# Who makes a kit's headshots, as the editor names them.
BACKEND_LABELS = {
    "studio": _("Studio: your selfie, professionally finished (CPU)"),
    "klein": _("FLUX.2 [klein] 4B: re-photographed from your selfies (Apache-2.0)"),
    "diffusion": _("SDXL: new clothes and light around your own face"),
}


class EmployeeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search name, email, title, department or employee no."), required=False,
                        max_length=200)
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", _("All teams")), *((t.pk, t.name) for t in teams)]
        self.fields["state"].choices = [("", _("All states")), *((s, STATE_LABELS[s]) for s in STATES)]


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"),
                           help_text=_("A header row with name and email; external_id and team are optional."))


class InviteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Work email"))
    team = forms.CharField(label=_("Team (optional)"), max_length=200, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX_CHARS, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class BrandKitCreateForm(forms.Form):
    name = forms.CharField(label=_("Kit name"), max_length=200)
    preset = forms.ChoiceField(label=_("Start from"), choices=[(p.name, p.title) for p in PRESETS.values()])


def _range(label, low, high, step, help_text):
    return forms.FloatField(label=label, min_value=low, max_value=high, help_text=help_text,
                            widget=forms.NumberInput(attrs={"step": step}))


class BrandSpecForm(forms.Form):
    """The editable part of a BrandSpec, flattened into fields; `spec()` builds the dict brand_kit_update takes."""

    background_kind = forms.ChoiceField(label=_("Background"), choices=[
        (kind, label) for kind, label in zip(BACKGROUND_KINDS, (_("Solid colour"), _("Gradient"), _("Image"),
                                                                _("Blurred office")), strict=True)])
    background_color = forms.CharField(label=_("Background colour"), validators=[hex_colour],
                                       widget=forms.TextInput(attrs={"type": "color"}))
    background_color_to = forms.CharField(label=_("Gradient bottom colour"), validators=[hex_colour], required=False,
                                          widget=forms.TextInput(attrs={"type": "color"}))
    background_image = forms.ImageField(label=_("Background image"), required=False,
                                        help_text=_("JPEG, PNG or WebP, for an image background."))
    # Each number says its range and what its values look like: an admin shouldn't need to know what
    # "temperature -0.1" or "eye line 0.4" means.
    framing_aspect = _range(_("Aspect (width ÷ height)"), 0.5, 2.0, "0.05",
                            _("0.5 to 2. 0.8 is a 4:5 portrait, 1 a square, above 1 landscape."))
    framing_eye_line = _range(_("Eye line (from the top)"), 0.2, 0.6, "0.01",
                              _("0.2 to 0.6: where the eyes sit, as a share of the height from the top edge. "
                                "0.4 puts them two-fifths of the way down, a little above the middle."))
    framing_head_height = _range(_("Head height"), 0.2, 0.8, "0.01",
                                 _("0.2 to 0.8: the share of the height the head fills, chin to crown. About 0.4 "
                                   "shows head and shoulders; higher is a closer crop."))
    lighting = forms.ChoiceField(label=_("Lighting"), choices=[(p, p.capitalize()) for p in LIGHTING_PRESETS])
    attire = forms.CharField(label=_("Clothing the kit asks for"), max_length=200, required=False,
                             help_text=_("In words, e.g. “dark business suit, white shirt”."))
    attire_recolour = forms.BooleanField(label=_("Nudge clothing towards a brand colour"), required=False)
    attire_color = forms.CharField(label=_("Clothing colour"), validators=[hex_colour], required=False,
                                   widget=forms.TextInput(attrs={"type": "color"}))
    attire_strength = _range(_("Clothing colour strength"), 0.0, 1.0, "0.05",
                             _("0 leaves the colour as photographed, 1 moves it as far toward the brand colour as "
                               "the studio allows (fabric shading stays)."))
    grade_temperature = _range(_("Colour temperature"), -1.0, 1.0, "0.05",
                               _("−1 (cool, bluer) to +1 (warm, more golden); 0 leaves colour as photographed. "
                                 "−0.1 is a slight cool tint."))
    grade_saturation = _range(_("Saturation"), 0.0, 2.0, "0.05",
                              _("0 (black and white) to 2 (twice as vivid); 1 leaves colour as photographed."))
    grade_contrast = _range(_("Contrast"), 0.5, 1.5, "0.05",
                            _("0.5 (flat) to 1.5 (punchy); 1 leaves contrast as photographed."))
    retouch_strength = _range(_("Retouch strength"), 0.0, 1.0, "0.05",
                              _("0 (untouched) to 1 (the strongest skin smoothing the studio allows)."))
    retouch_min_texture_share = _range(_("Skin texture kept (at least)"), 0.3, 1.0, "0.05",
                                       _("0.3 to 1: the share of natural skin texture that must survive retouching. "
                                         "0.65 keeps about two-thirds; 1 keeps all of it."))
    output_sizes = forms.CharField(label=_("Output widths in pixels"), max_length=100,
                                   help_text=_("Comma-separated, e.g. 1024, 512, 256."))
    variants_per_person = forms.IntegerField(label=_("Variants per person"), min_value=1,
                                             max_value=MAX_VARIANTS_PER_PERSON)
    backend = forms.ChoiceField(label=_("Made by"), required=False, choices=[
        ("default", _("This deployment's default")), *BACKEND_LABELS.items()])
    style_reference = forms.ImageField(
        label=_("Style reference"), required=False,
        help_text=_("An existing company headshot (FLUX.2 [klein] only): its light, framing, attire formality and "
                    "colour grade are matched, never its person."))
    remove_style_reference = forms.BooleanField(label=_("Remove the style reference"), required=False)

    @classmethod
    def initial_from(cls, spec: dict[str, Any]) -> dict[str, Any]:
        background, framing = spec.get("background", {}), spec.get("framing", {})
        grade, retouch, attire = spec.get("color_grade", {}), spec.get("retouch", {}), spec.get("attire_color", {})
        return {
            "background_kind": background.get("kind", "solid"), "background_color": background.get("color"),
            "background_color_to": background.get("color_to") or background.get("color"),
            "framing_aspect": framing.get("aspect"), "framing_eye_line": framing.get("eye_line"),
            "framing_head_height": framing.get("head_height"), "lighting": spec.get("lighting"),
            "attire": spec.get("attire", "business attire"),
            "attire_recolour": bool(attire.get("color")), "attire_color": attire.get("color") or "#1f2a44",
            "attire_strength": attire.get("strength", 0.0), "grade_temperature": grade.get("temperature"),
            "grade_saturation": grade.get("saturation"), "grade_contrast": grade.get("contrast"),
            "retouch_strength": retouch.get("strength"), "retouch_min_texture_share": retouch.get("min_texture_share"),
            "output_sizes": ", ".join(str(size) for size in spec.get("output_sizes", ())),
            "variants_per_person": spec.get("variants_per_person"),
            "backend": spec.get("backend", "studio"),
        }

    def clean_output_sizes(self) -> list[int]:
        parts = [p for p in re.split(r"[\s,]+", self.cleaned_data["output_sizes"]) if p]
        if not parts or not all(p.isascii() and p.isdigit() for p in parts):  # "²".isdigit() too
            raise forms.ValidationError(_("List whole numbers of pixels separated by commas."))
        sizes = [int(p) for p in parts]
        if any(not 64 <= size <= 4096 for size in sizes):
            raise forms.ValidationError(_("Each width must be between 64 and 4096 pixels."))
        return list(dict.fromkeys(sizes))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned["background_kind"] == "gradient" and not cleaned.get("background_color_to"):
            self.add_error("background_color_to", _("A gradient needs a bottom colour."))
        if cleaned["attire_recolour"] and not cleaned.get("attire_color"):
            self.add_error("attire_color", _("Choose the clothing colour."))
        if not self.errors:
            try:  # BrandSpec is the one source of truth for what a kit may hold
                spec = self.spec()
                background = {**spec["background"], "image_path": "checked-on-save"} \
                    if spec["background"]["kind"] == "image" else spec["background"]
                BrandSpec.from_dict({**spec, "background": background})
            except BrandSpecError as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned

    def spec(self) -> dict[str, Any]:
        c = self.cleaned_data
        background = {"kind": c["background_kind"], "color": c["background_color"].lower(), "color_to": None}
        if c["background_kind"] == "gradient":
            background["color_to"] = c["background_color_to"].lower()
        return {
            "background": background,
            "framing": {"aspect": c["framing_aspect"], "eye_line": c["framing_eye_line"],
                        "head_height": c["framing_head_height"]},
            "lighting": c["lighting"],
            # Left out when blank or not sent, like the backend: the kit keeps what it asked for.
            **({"attire": c["attire"].strip()} if (c.get("attire") or "").strip() else {}),
            "attire_color": {"color": c["attire_color"].lower() if c["attire_recolour"] else None,
                             "strength": c["attire_strength"] if c["attire_recolour"] else 0.0},
            "color_grade": {"temperature": c["grade_temperature"], "saturation": c["grade_saturation"],
                            "contrast": c["grade_contrast"]},
            "retouch": {"strength": c["retouch_strength"], "min_texture_share": c["retouch_min_texture_share"]},
            "output_sizes": c["output_sizes"],
            "variants_per_person": c["variants_per_person"],
            # Left out when the field isn't sent: the kit keeps its choice.
            **({"backend": c["backend"]} if c.get("backend") else {}),
        }
