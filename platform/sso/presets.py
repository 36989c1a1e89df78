"""Attribute-mapping presets: which SAML attribute carries each profile field, per identity provider product."""
from __future__ import annotations

MAPPING_FIELDS = ("email", "first_name", "last_name", "display_name", "groups")

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"

PRESETS: dict[str, dict] = {
    "okta": {
        "label": "Okta",
        # Okta's SAML app template: attribute statements named by the admin; these are Okta's documented defaults.
        "attribute_mapping": {"email": "email", "first_name": "firstName", "last_name": "lastName",
                              "display_name": "displayName", "groups": "groups"},
    },
    "entra": {
        "label": "Microsoft Entra ID",
        # Entra ID sends WS-Federation claim URIs by default.
        "attribute_mapping": {
            "email": f"{_CLAIMS}/emailaddress",
            "first_name": f"{_CLAIMS}/givenname",
            "last_name": f"{_CLAIMS}/surname",
            "display_name": "http://schemas.microsoft.com/identity/claims/displayname",
            "groups": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        },
    },
    "google": {
        "label": "Google Workspace",
        # Google's custom SAML app maps directory fields to names the admin picks; these are the common choices.
        "attribute_mapping": {"email": "email", "first_name": "first_name", "last_name": "last_name",
                              "display_name": "", "groups": "groups"},
    },
    "custom": {
        "label": "Custom",
        "attribute_mapping": {"email": "email", "first_name": "", "last_name": "", "display_name": "", "groups": ""},
    },
}
