"""OpenAPI description of the API-key authentication, so /api/schema/ documents how the pull API is called."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hs_live_<60 characters>",
            "description": "An organization's API key (created by an admin under /api/v1/orgs/{org_slug}/api-keys), "
                           "sent as `Authorization: Bearer hs_live_...`.",
        }
