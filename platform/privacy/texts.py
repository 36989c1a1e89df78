"""The consent text is the consent app's (consent.texts); importable from here as before (rollouts.selectors)."""
from consent.texts import CONSENT_VERSION, ConsentText, consent_text  # noqa: F401
