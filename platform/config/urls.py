"""URL map. Every tenant endpoint sits under /api/v1/orgs/<org_slug>/ and derives from OrganizationEndpoint."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import audit.tenant_urls
import brand_kits.tenant_urls
import connectors.tenant_urls
import integrations.tenant_urls
import portal.tenant_urls
import privacy.tenant_urls
import rollouts.tenant_urls
import scim.tenant_urls
import sso.tenant_urls
import teams.tenant_urls
import tenancy.tenant_urls
import webhooks.tenant_urls
from accounts import api as accounts_api

from . import health

tenant_patterns: list = []
# Each app keeps its own tenant routes; all of them sit under /api/v1/orgs/<org_slug>/ and in the isolation matrix.
for _app in (brand_kits, teams, rollouts, tenancy, integrations, privacy, sso, portal, webhooks, scim, connectors,
             audit):
    tenant_patterns += _app.tenant_urls.patterns

api_v1 = [
    path("auth/signup", accounts_api.SignupApi.as_view(), name="signup"),
    path("auth/signup/verify", accounts_api.SignupVerifyApi.as_view(), name="signup-verify"),
    path("auth/login", accounts_api.LoginApi.as_view(), name="login"),
    path("invites/accept", accounts_api.InviteAcceptApi.as_view(), name="invite-accept"),
    path("orgs", accounts_api.MyOrganizationsApi.as_view(), name="my-organizations"),
    path("orgs/<slug:org_slug>/", include((tenant_patterns, "tenant"))),
]

# Under /api/, a URL that matches no route answers the API's JSON 404, and Django's own 400s (a body too large)
# are JSON too; the rest of the site keeps its HTML pages.
handler400 = "config.api_errors.bad_request"
handler404 = "config.api_errors.page_not_found"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Apps with routes outside the tenant API (portal pages, SAML, SCIM, the directory pull API, connectors);
    # each app's urls.py holds full paths from the site root.
    path("", include("integrations.urls")),
    path("", include("sso.urls")),
    path("", include("scim.urls")),
    path("", include("webhooks.urls")),
    path("", include("connectors.urls")),
    path("", include("privacy.urls")),
    path("", include("portal.urls")),
]
