"""URL map. Every tenant endpoint sits under /api/v1/orgs/<org_slug>/ and derives from OrganizationEndpoint."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import audit.tenant_urls
import connectors.tenant_urls
import integrations.tenant_urls
import portal.tenant_urls
import privacy.tenant_urls
import scim.tenant_urls
import sso.tenant_urls
import tenancy.tenant_urls
import webhooks.tenant_urls
from accounts import api as accounts_api
from brand_kits import api as brand_kits_api
from integrations import api as integrations_api
from rollouts import api as rollouts_api
from teams import api as teams_api
from teams import review_api as teams_review_api

from . import health

tenant_patterns = [
    path("brand-kits", brand_kits_api.BrandKitListApi.as_view(), name="brand-kit-list"),
    path("brand-kit-presets", brand_kits_api.BrandKitPresetListApi.as_view(), name="brand-kit-presets"),
    path("brand-kits/<int:kit_id>", brand_kits_api.BrandKitDetailApi.as_view(), name="brand-kit-detail"),
    path("brand-kits/<int:kit_id>/background", brand_kits_api.BrandKitBackgroundApi.as_view(),
         name="brand-kit-background"),
    path("brand-kits/<int:kit_id>/style-reference", brand_kits_api.BrandKitStyleReferenceApi.as_view(),
         name="brand-kit-style-reference"),
    path("brand-kits/<int:kit_id>/versions", brand_kits_api.BrandKitVersionListApi.as_view(),
         name="brand-kit-versions"),
    path("teams", teams_api.TeamListApi.as_view(), name="team-list"),
    path("employees", teams_api.EmployeeListApi.as_view(), name="employee-list"),
    path("employees/import", teams_api.EmployeeImportApi.as_view(), name="employee-import"),
    path("employees/<int:employee_id>", teams_api.EmployeeDetailApi.as_view(), name="employee-detail"),
    path("employees/<int:employee_id>/invite", teams_api.EmployeeInviteApi.as_view(), name="employee-invite"),
    path("invites", teams_api.InviteListApi.as_view(), name="invite-list"),
    path("invites/<int:invite_id>", teams_api.InviteDetailApi.as_view(), name="invite-detail"),
    path("generation-requests", teams_api.GenerationRequestListApi.as_view(), name="generation-request-list"),
    path("generation-requests/<int:request_id>", teams_api.GenerationRequestDetailApi.as_view(),
         name="generation-request-detail"),
    path("headshots", teams_api.HeadshotListApi.as_view(), name="headshot-list"),
    path("headshots/<int:headshot_id>/approve", teams_api.HeadshotApproveApi.as_view(), name="headshot-approve"),
    path("headshots/<int:headshot_id>/file", teams_api.HeadshotFileApi.as_view(), name="headshot-file"),
    path("headshots/<int:headshot_id>/reject", teams_review_api.HeadshotRejectApi.as_view(), name="headshot-reject"),
    path("headshots/<int:headshot_id>/regenerate", teams_review_api.HeadshotRegenerateApi.as_view(),
         name="headshot-regenerate"),
    path("exports/headshots.zip", integrations_api.HeadshotExportApi.as_view(), name="headshot-export"),
    path("me", teams_api.MeApi.as_view(), name="me"),
    path("me/selfies", teams_api.MySelfieListApi.as_view(), name="my-selfie-list"),
    path("me/selfies/<int:selfie_id>", teams_api.MySelfieDetailApi.as_view(), name="my-selfie-detail"),
    path("me/generation-requests", teams_api.MyGenerationRequestListApi.as_view(), name="my-generation-request-list"),
    path("me/generation-requests/<int:request_id>", teams_api.MyGenerationRequestDetailApi.as_view(),
         name="my-generation-request-detail"),
    path("me/headshots", teams_api.MyHeadshotListApi.as_view(), name="my-headshot-list"),
    path("me/headshots/<int:headshot_id>/select", teams_api.MyHeadshotSelectApi.as_view(), name="my-headshot-select"),
    path("me/headshots/<int:headshot_id>/approve", teams_api.MyHeadshotApproveApi.as_view(),
         name="my-headshot-approve"),
    path("rollouts", rollouts_api.RolloutListApi.as_view(), name="rollout-list"),
    path("rollouts/<int:rollout_id>", rollouts_api.RolloutDetailApi.as_view(), name="rollout-detail"),
    path("rollouts/<int:rollout_id>/pause", rollouts_api.RolloutPauseApi.as_view(), name="rollout-pause"),
    path("rollouts/<int:rollout_id>/resume", rollouts_api.RolloutResumeApi.as_view(), name="rollout-resume"),
    path("rollouts/<int:rollout_id>/cancel", rollouts_api.RolloutCancelApi.as_view(), name="rollout-cancel"),
    path("generation-requests/<int:request_id>/progress", rollouts_api.GenerationRequestProgressApi.as_view(),
         name="generation-request-progress"),
    path("me/generation-requests/<int:request_id>/progress", rollouts_api.MyGenerationRequestProgressApi.as_view(),
         name="my-generation-request-progress"),
]
# Each app keeps its own tenant routes; all of them sit under /api/v1/orgs/<org_slug>/ and in the isolation matrix.
for _app in (tenancy, integrations, privacy, sso, portal, webhooks, scim, connectors, audit):
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
