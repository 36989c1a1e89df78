"""The consent text, versioned in code: what is processed, by whom, for what, and for how long.

Change the words and the version together: a new version asks every employee to consent again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext as _

CONSENT_VERSION = "2026-11-1"


@dataclass(frozen=True)
class ConsentText:
    version: str
    title: str
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n\n".join((self.title, *self.paragraphs))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


def consent_text(organization) -> ConsentText:
    """The text an employee of this organization agrees to, in the active language."""
    days = organization.biometric_retention_days
    return ConsentText(
        version=CONSENT_VERSION,
        title=_("Consent to the processing of your face data"),
        paragraphs=(
            _("To make your professional headshots, %(org)s uses this headshot service to analyse the selfies you "
              "upload. From each selfie it computes biometric data: a face embedding (a list of numbers that "
              "describes your face) and facial landmarks (the positions of your eyes, nose, mouth and the outline "
              "of your face).") % {"org": organization.name},
            _("This data is used only to check that your selfies are usable and show the same person, to generate "
              "your headshots, and to check that each generated headshot still looks like you. It is never used to "
              "identify you anywhere else, and it is never sold or shared with third parties."),
            _("%(org)s is responsible for this processing (the controller). The headshot service processes the data "
              "on its behalf, on the company's own servers.") % {"org": organization.name},
            _("Retention: your selfies, face embeddings and landmarks are deleted %(days)s days after your headshot "
              "is approved. The approved headshots themselves are kept until you leave %(org)s.")
            % {"days": days, "org": organization.name},
            _("Your consent is voluntary. Without it nothing is processed and you can ask HR for another way to get "
              "a photo. You can withdraw it at any time in the portal: your selfies, face embeddings and identity "
              "profile are then deleted at once; headshots already made are kept."),
        ),
    )
